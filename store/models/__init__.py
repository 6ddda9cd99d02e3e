"""Every table of the seed schemas, plus the runtime's turns, tool calls and memories."""

from store.models.agents import Agent, AgentTool, Attachment, Prompt, Tool
from store.models.analytics import (
    AbTest,
    CsvMapping,
    Customer,
    CustomerFunnel,
    CustomerJourneyEvent,
    KpiTarget,
    SupportTicket,
    UserFeedback,
)
from store.models.auth import AuthSession, User
from store.models.conversations import (
    AgentTurn,
    Conversation,
    ConversationMessage,
    ConversationParticipant,
    ToolCall,
)
from store.models.elevate import (
    CourseModule,
    PlaybookPrompt,
    UserActivityLog,
    UserFoundation,
    UserFoundationVersion,
    UserFunnelSnapshot,
    UserGeneratedAsset,
    UserModuleProgress,
    UserPromptExecution,
)
from store.models.groups import Group, GroupMember
from store.models.mcp import McpServer
from store.models.memories import Memory
from store.models.message_edits import MessageEdit
from store.models.reads import ConversationRead, Notification
from store.models.uploads import Upload
from store.models.usage import UsageBudget, UsageRecord

__all__ = [
    "AbTest",
    "Agent",
    "AgentTool",
    "AgentTurn",
    "Attachment",
    "AuthSession",
    "Conversation",
    "ConversationMessage",
    "ConversationParticipant",
    "ConversationRead",
    "CourseModule",
    "CsvMapping",
    "Customer",
    "CustomerFunnel",
    "CustomerJourneyEvent",
    "Group",
    "GroupMember",
    "KpiTarget",
    "McpServer",
    "Memory",
    "MessageEdit",
    "Notification",
    "PlaybookPrompt",
    "Prompt",
    "SupportTicket",
    "Tool",
    "ToolCall",
    "Upload",
    "UsageBudget",
    "UsageRecord",
    "User",
    "UserActivityLog",
    "UserFeedback",
    "UserFoundation",
    "UserFoundationVersion",
    "UserFunnelSnapshot",
    "UserGeneratedAsset",
    "UserModuleProgress",
    "UserPromptExecution",
]
