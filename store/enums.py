"""Literal unions of the seed schema, validated in Python and by CHECK constraints."""

from enum import StrEnum


class ElevateStep(StrEnum):
    """Module 0 (Foundation) and the nine Elevate steps, in course order."""

    FOUNDATION = "Foundation"
    HOOK = "Hook"
    GIFT = "Gift"
    IDENTIFY = "Identify"
    ENGAGE = "Engage"
    SELL = "Sell"
    NURTURE = "Nurture"
    UPSELL = "Upsell"
    EDUCATE = "Educate"
    SHARE = "Share"


class AgentKind(StrEnum):
    SYSTEM = "system_agent"
    USER = "user_agent"


class MemberKind(StrEnum):
    """Which foreign key of a user-or-agent union row is set."""

    USER = "user"
    AGENT = "agent"


class Role(StrEnum):
    """Roles in a group or a conversation: admins manage, members post, observers read."""

    ADMIN = "admin"
    MEMBER = "member"
    OBSERVER = "observer"


class MessageKind(StrEnum):
    PARTICIPANT = "participant"
    SYSTEM = "system"


class MessageStatus(StrEnum):
    """The seed's tab labels (now/top/todo/done) plus the runtime's delivery states."""

    NOW = "now"
    TOP = "top"
    TODO = "todo"
    DONE = "done"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    FAILED = "failed"


class MessageTab(StrEnum):
    """The seed's message tabs (its `status` labels), kept apart from the delivery state."""

    NOW = "now"
    TOP = "top"
    TODO = "todo"
    DONE = "done"


class TurnStatus(StrEnum):
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ToolCallStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    DENIED = "denied"


class MemoryScope(StrEnum):
    """Who a memory belongs to, besides the agent that keeps it."""

    AGENT = "agent"
    USER = "user"
    GROUP = "group"


class AttachmentOwner(StrEnum):
    AGENT = "agent"
    GROUP = "group"


class ExecutionStatus(StrEnum):
    PENDING = "Pending"
    SUCCESS = "Success"
    ERROR = "Error"


class AssetStatus(StrEnum):
    DRAFT = "Draft"
    IMPLEMENTED = "Implemented"
    ARCHIVED = "Archived"


class ProgressStatus(StrEnum):
    NOT_STARTED = "Not Started"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"


class UsageSource(StrEnum):
    """What used a model: an agent's turn, or a playbook run."""

    TURN = "turn"
    PLAYBOOK = "playbook"


class BudgetSubject(StrEnum):
    """Whose daily token budget an override sets."""

    USER = "user"
    AGENT = "agent"
