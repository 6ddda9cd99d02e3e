"""The conversation runtime the server talks to: store a message, then let agents answer.

Triggers are durable: a human message records that it is owed an answer in its own
transaction, and the turn that answers it records that in its own (`store.triggers`). Per
conversation, one worker task in this process claims the conversation under its `TurnLock`
lease and runs what the database says is owed (a human message, or several coalesced), one
trigger after another, so at most one turn runs per conversation across processes and nothing
acknowledged depends on this process's memory. After a crash, a restarted or surviving
process finds the conversations that are owed an answer or have a turn left running
(`_sweep`, at start and every `lease_seconds`) and claims them: the dead turns are failed and
announced, the owed triggers run, once each. Every agent reply is stored before it is
announced, and fenced in its own transaction: a process that lost the lease cannot store.

Transactions are the cost of a turn (each is a round trip, and on SQLite the write lock), so a
trigger reads the conversation, its roster (agents with their `version`) and the last agent
speaker once, in one transaction; each turn then starts its row (one), reads its window and
prompts (one, in the runner), and stores its reply together with the turn's end and the summary
(one). A message is still stored before it is announced, and fenced by the lease before that.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime import regenerate, tracing, turn_observer
from runtime.agent_turn import AgentRunner, AgentTurnRequest
from runtime.bus import EventBus, Subscription
from runtime.delegation import Delegation
from runtime.errors import DelegationRefused, ElevateRuntimeError, TurnTimeout
from runtime.events import event
from runtime.history import SummaryMark
from runtime.locks import Lease, TurnLock
from runtime.metering import BudgetExceeded, UsageMeter
from runtime.policy import ConversationPolicy, InvalidPolicy, MidTurn
from runtime.roster import Candidate, Roster, candidate, load_roster, roster_in
from runtime.router import SpeakerRouter, parse_mentions
from runtime.settings import Settings
from runtime.turn_registry import TurnRegistry
from runtime.turn_state import (
    MESSAGE_STATUS,
    Budget,
    FinishedTurn,
    Trigger,
    TriggerRun,
    TurnFinish,
    TurnInputs,
    TurnOutcome,
)
from runtime.wire import message_to_wire
from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.enums import MessageKind, Role, TurnStatus
from store.errors import Fenced, NotFound
from store.ids import new_id
from store.messages import Messages
from store.models import Agent, Conversation, ConversationMessage, ConversationParticipant, User
from store.regenerations import REGENERATE_TYPE, regenerate_target
from store.triggers import (
    PENDING_LIMIT,
    STALE_ERROR,
    Claim,
    Owed,
    StaleTurn,
    Triggers,
    claim_in,
)
from store.turns import Turns
from store.usage import record_in

log = logging.getLogger(__name__)

CONTROL_CHANNEL = "elevate:runtime-control"
# Round robin continues after the last agent that spoke among this many latest messages.
LAST_SPEAKER_SCAN = 100


class Busy(ElevateRuntimeError):
    """The conversation's policy rejects messages while agents are replying."""

    code = "turn_in_progress"

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(
            f"conversation {conversation_id} is busy: an agent is replying and this "
            "conversation rejects messages until it is done"
        )


class LeaseLostError(ElevateRuntimeError):
    """Another process took the conversation over; this one stops writing."""

    code = "lease_lost"


@dataclass(frozen=True)
class PostResult:
    """A stored message as clients see it; `created` is False for an idempotent retry."""

    message: dict[str, Any]
    seq: int
    created: bool


@dataclass
class Room:
    """This process's view of one conversation: the worker, and whether it must look again.

    What is owed lives in the database; `wanted` only says that something may have been
    stored since the worker last looked.
    """

    wanted: bool = False
    worker: asyncio.Task[None] | None = None
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def busy(self) -> bool:
        return self.worker is not None or self.wanted


class ConversationRuntime:
    """Stores messages, routes them to agents and runs agent turns, one at a time per room."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        bus: EventBus,
        lock: TurnLock,
        runner: AgentRunner,
        process_id: str | None = None,
        *,
        router: SpeakerRouter | None = None,
    ) -> None:
        self.db, self.settings, self.bus, self.lock, self.runner = db, settings, bus, lock, runner
        self.process_id = process_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        self.router = router or SpeakerRouter(settings)
        self.messages = Messages(db)
        self.conversations = Conversations(db)
        self.turns = Turns(db)
        self.triggers = Triggers(db)
        self.registry = TurnRegistry()
        self.meter = UsageMeter(db, settings)
        self._rooms: dict[str, Room] = {}
        self._control: Subscription | None = None
        self._control_task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._suspects: dict[str, tuple[Any, ...]] = {}
        self._closed = False
        # Called with (conversation_id, message) after each new message is announced.
        self.message_listeners: list[Callable[[str, dict[str, Any]], None]] = []

    async def start(self) -> None:
        """Listen for cancels sent by other processes (a user's socket may live elsewhere),
        end the turns a dead process left running, and answer what it left owed."""
        self._closed = False
        self._stopping.clear()
        self._control = await self.bus.subscribe(CONTROL_CHANNEL)
        self._control_task = asyncio.create_task(self._listen_control(self._control))
        try:
            await self._sweep()
        except Exception:
            log.exception("recovering conversations at start failed; retrying later")
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def close(self) -> None:
        """Cancel running turns (their partial replies are stored as cancelled) and stop."""
        self._closed = True
        if self._sweeper is not None:
            # Let a sweep in progress finish its transaction rather than cancel it inside one.
            self._stopping.set()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        workers = [room.worker for room in self._rooms.values() if room.worker is not None]
        for room in self._rooms.values():
            room.wanted = False
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self._control is not None:
            await self.bus.unsubscribe(self._control)
            self._control = None
        if self._control_task is not None:
            self._control_task.cancel()
            await asyncio.gather(self._control_task, return_exceptions=True)
            self._control_task = None

    # Posting.

    async def post_user_message(
        self,
        conversation_id: str,
        user_id: str,
        content: str,
        *,
        client_msg_id: str | None = None,
        attachments: list[Any] | None = None,
    ) -> PostResult:
        """Store a human message, announce it, and schedule the agents' answer."""
        conversation, participant, name = await self._poster(conversation_id, user_id)
        policy = ConversationPolicy.from_config(conversation.policy)
        if participant is None:
            participant, name = await self._join(conversation_id, user_id)
        if policy.mid_turn == MidTurn.REJECT:
            retry = await self._already_sent(conversation_id, participant.id, client_msg_id)
            if retry is not None:
                self._wake(conversation_id)
                return self._result(retry, participant, name, created=False)
            if await self._busy(conversation_id):
                raise Busy(conversation_id)
        appended = await self.messages.append(
            conversation_id,
            content,
            author_participant_id=participant.id,
            client_msg_id=client_msg_id,
            attachments=attachments or None,
            created_by=user_id,
            triggers=True,
        )
        result = self._result(appended.message, participant, name, created=appended.created)
        if appended.created:
            tracing.note_cause(conversation_id, appended.message.seq)
            await self._publish_message(conversation_id, result)
            if policy.mid_turn == MidTurn.INTERRUPT:
                await self._interrupt(conversation_id, user_id, appended.message.seq)
        # A resend wakes the worker too: if the first send was never answered (its process
        # died), the claim finds it owed and answers it; if it was, the claim finds nothing.
        self._wake(conversation_id)
        return result

    async def post_regenerate(
        self, conversation_id: str, user_id: str, seq: int, *, client_msg_id: str | None = None
    ) -> PostResult:
        """Ask the agent that wrote the reply at `seq` for another version: a `regenerate`
        message, owed an answer like a person's (see runtime/regenerate.py)."""
        target = await regenerate_target(self.db, conversation_id, seq)
        _, participant, name = await self._poster(conversation_id, user_id)
        if participant is None:
            participant, name = await self._join(conversation_id, user_id)
        appended = await self.messages.append(
            conversation_id,
            "",
            author_participant_id=participant.id,
            client_msg_id=client_msg_id,
            type=REGENERATE_TYPE,
            meta=target.marker_meta(),
            created_by=user_id,
            triggers=True,
        )
        result = self._result(appended.message, participant, name, created=appended.created)
        if appended.created:
            await self._publish_message(conversation_id, result)
        self._wake(conversation_id)
        return result

    async def post_system_message(
        self, conversation_id: str, content: str, meta: dict[str, Any] | None = None
    ) -> PostResult:
        """Store and announce a system note (no author; triggers no agent)."""
        appended = await self.messages.append(
            conversation_id,
            content,
            author_participant_id=None,
            kind=MessageKind.SYSTEM,
            type="system",
            meta=meta or {},
        )
        result = self._result(appended.message, None, None, created=True)
        await self._publish_message(conversation_id, result)
        return result

    # Cancelling and waiting.

    async def cancel(self, conversation_id: str, user_id: str, turn_id: str | None = None) -> bool:
        """Cancel the running turn (only `turn_id`, if given), here or in another process.

        Queued triggers still run afterwards. True if a running turn was found.
        """
        reason = {"by": user_id, "reason": "cancel"}
        if self.registry.cancel(conversation_id, turn_id, reason=reason):
            return True
        return await self._cancel_remote(conversation_id, turn_id, reason)

    async def wait_idle(
        self,
        conversation_id: str,
        timeout: float = 10.0,  # noqa: ASYNC109 (part of the server's contract)
    ) -> None:
        """Return once this process has nothing queued or running for the conversation."""
        room = self._rooms.get(conversation_id)
        if room is None or not room.busy:
            return
        await asyncio.wait_for(room.idle.wait(), timeout)

    # Scheduling.

    def _wake(self, conversation_id: str) -> None:
        """Make sure a worker looks at what the conversation is owed."""
        room = self._rooms.setdefault(conversation_id, Room())
        room.wanted = True
        if room.worker is None and not self._closed:
            room.idle.clear()
            room.worker = asyncio.create_task(self._work(conversation_id, room))

    async def _interrupt(self, conversation_id: str, user_id: str, seq: int) -> None:
        reason = {"by": user_id, "reason": "interrupt", "seq": seq}
        if not self.registry.cancel(conversation_id, reason=reason):
            await self._cancel_remote(conversation_id, None, reason)

    async def _busy(self, conversation_id: str) -> bool:
        room = self._rooms.get(conversation_id)
        if room is not None and room.busy:
            return True
        # Probing the lease tells whether a turn runs in another process.
        lease = await self.lock.try_acquire(conversation_id, self.process_id, 1.0)
        if lease is None:
            return True
        await self.lock.release(lease)
        return False

    async def _work(self, conversation_id: str, room: Room) -> None:
        """Claim the conversation and run one owed trigger per lease, until none is owed."""
        try:
            while room.wanted and not self._closed:
                room.wanted = False
                lease = await self.lock.acquire(
                    conversation_id, self.process_id, self.settings.lease_seconds
                )
                stop = threading.Event()
                renewer = threading.Thread(
                    target=self._heartbeat, args=(lease, stop), daemon=True, name="lease"
                )
                renewer.start()
                try:
                    if await self._run_next(conversation_id, lease):
                        room.wanted = True
                except LeaseLostError:
                    log.warning("lost the lease on %s; another process took over", conversation_id)
                except Exception:
                    log.exception("trigger failed in conversation %s", conversation_id)
                finally:
                    stop.set()
                    await asyncio.to_thread(renewer.join)
                    with contextlib.suppress(Exception):
                        await self.lock.release(lease)
        finally:
            room.worker = None
            room.idle.set()

    def _heartbeat(self, lease: Lease, stop: threading.Event) -> None:
        """Renew the lease from a thread while the trigger runs: a turn that keeps the event
        loop busy (compiling a graph, a starved machine) must not look like a dead process
        and be taken over. A lease found lost stays lost; the writes' fencing decides."""
        ttl = self.settings.lease_seconds
        while not stop.wait(ttl / 3):
            try:
                if not self.lock.renew_blocking(lease, ttl):
                    log.warning("lease on %s lost while a turn ran", lease.key)
                    lease.lost = True
                    return
            except Exception:
                log.exception("renewing the lease on %s failed; retrying", lease.key)

    # Recovery: what a dead process left behind.

    async def _sweep(self, *, patient: bool = False) -> None:
        """Claim every conversation that is owed an answer or has a turn left running, unless
        a live holder has it (its lease is held) or this process is already on it.

        `patient`: only those the previous sweep found in the same state with their lease
        free too. A live process that stalled past its lease (a loaded machine) takes it again
        when it wakes; a conversation stuck and unheld at two sweeps in a row is one nobody
        is moving.
        """
        found = await self.triggers.needing_attention()
        suspects, self._suspects = self._suspects, {}
        for conversation_id, state in found.items():
            room = self._rooms.get(conversation_id)
            if self._closed or (room is not None and room.busy):
                continue
            if await self.lock.held(conversation_id):
                continue
            if patient and suspects.get(conversation_id) != state:
                self._suspects[conversation_id] = state
                continue
            lease = await self.lock.try_acquire(
                conversation_id, self.process_id, self.settings.lease_seconds
            )
            if lease is None:
                continue
            log.warning("taking over %s: %s left by a stopped process", conversation_id, state)
            try:
                claim = await self.triggers.claim(conversation_id)
            finally:
                with contextlib.suppress(Exception):
                    await self.lock.release(lease)
            await self._announce_stale(conversation_id, claim.stale)
            if claim.owed:
                self._wake(conversation_id)

    async def _sweep_forever(self) -> None:
        # A dead holder's lease lapses after `lease_seconds`; look again at that pace.
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.lease_seconds)
            if self._stopping.is_set():
                return
            try:
                await self._sweep(patient=True)
            except Exception:
                log.exception("recovering conversations failed; retrying")

    async def _announce_stale(self, conversation_id: str, stale: list[StaleTurn]) -> None:
        """Tell subscribers that the turns a dead process left running have ended."""
        for turn in stale:
            await self.bus.publish(
                conversation_id,
                event(
                    "turn.end",
                    conversation_id,
                    turn_id=turn.id,
                    status=TurnStatus.FAILED.value,
                    message_seq=None,
                    usage={"input_tokens": 0, "output_tokens": 0},
                    parent_turn_id=turn.parent_turn_id,
                    error=STALE_ERROR,
                ),
            )

    # Running a trigger.

    async def _run_next(self, conversation_id: str, lease: Lease) -> bool:
        """Claim the conversation and run the next owed trigger; True if more is owed (a
        message stored meanwhile wakes the worker by itself)."""
        claim, loaded = await self._claim(conversation_id)
        await self._announce_stale(conversation_id, claim.stale)
        if loaded is None:
            return False
        conversation, roster, last_agent = loaded
        policy = self._policy(conversation)
        trigger = self._next_trigger(claim.owed, policy)
        try:
            if trigger.regenerate is not None:
                speakers = regenerate.speakers(roster, trigger.regenerate)
                note = None if speakers else regenerate.gone_note(trigger.regenerate)
                trigger.regenerate["original"] = await self._regenerated_text(
                    conversation_id, trigger.regenerate
                )
            else:
                speakers = await self.router.first_speakers(
                    roster, policy, trigger.text, last_agent_id=last_agent
                )
                note = None if speakers else await self._routing_note(conversation, roster, trigger)
        except Exception:
            # Answered at most once: a trigger that cannot be routed is not retried forever.
            log.exception("routing seq %s of %s failed", trigger.seq, conversation_id)
            speakers, note = [], None
        more = trigger.seq < claim.owed[-1].seq or len(claim.owed) >= PENDING_LIMIT
        if not speakers:
            await self._handled_without_turn(conversation_id, trigger, claim.fence, note)
            return more
        run = TriggerRun(
            conversation,
            trigger,
            lease,
            Budget(policy.agent_turn_limit(self.settings)),
            roster,
            summary=SummaryMark(conversation.summary, conversation.summary_seq or 0),
            queue=deque(speakers),
            fence=claim.fence,
        )
        try:
            with turn_observer.trigger(conversation_id, trigger.seq):
                await self._run_trigger(run)
        except LeaseLostError:
            raise
        except Exception:
            # Answered at most once: a trigger whose run breaks is not retried forever.
            log.exception("trigger seq %s of %s failed", trigger.seq, conversation_id)
            await self._handled_without_turn(conversation_id, trigger, claim.fence, None)
            return more
        # After the answers, so that the note is not what the agents read as the message.
        note = await self._routing_note(conversation, run.roster, trigger, run.delegated)
        if note is not None:
            await self.post_system_message(conversation_id, *note)
        return more

    async def _regenerated_text(self, conversation_id: str, request: dict[str, Any]) -> str | None:
        """The current text of the message a regenerated reply answered."""
        seq = request.get("trigger_seq")
        if not isinstance(seq, int):
            return None
        try:
            message = await self.messages.get(conversation_id, seq)
        except NotFound:
            return None
        return message.content if message.deleted_at is None else None

    @staticmethod
    def _next_trigger(owed: list[Owed], policy: ConversationPolicy) -> Trigger:
        """The oldest owed message, or (coalescing) everything owed, as one trigger. A
        regenerate is a trigger of its own: never coalesced with messages."""
        first = regenerate.request_of(owed[0].meta, owed[0].type)
        if first is not None:
            return Trigger(owed[0].seq, owed[0].user_id, [], regenerate=dict(first))
        owed = list(
            itertools.takewhile(lambda o: regenerate.request_of(o.meta, o.type) is None, owed)
        )
        if policy.mid_turn == MidTurn.COALESCE:
            return Trigger(owed[-1].seq, owed[-1].user_id, [o.content for o in owed])
        return Trigger(owed[0].seq, owed[0].user_id, [owed[0].content])

    async def _handled_without_turn(
        self,
        conversation_id: str,
        trigger: Trigger,
        fence: int,
        note: tuple[str, dict[str, Any]] | None,
    ) -> None:
        try:
            message = await self.triggers.handled(conversation_id, trigger.seq, fence, note)
        except Fenced as exc:
            raise LeaseLostError(str(exc)) from exc
        if message is not None:
            await self._publish_message(
                conversation_id, self._result(message, None, None, created=True)
            )

    async def _routing_note(
        self,
        conversation: Conversation,
        roster: Roster,
        trigger: Trigger,
        delegated: set[str] | None = None,
    ) -> tuple[str, dict[str, Any]] | None:
        """A short system note when a message reaches nobody it meant to: an @mentioned agent
        that is not in the room, or (one person, several agents, nobody mentioned) no policy
        routes it; the latter once until an agent speaks again. `delegated` answered the
        message as delegates (their mention was the hand-off's, not a miss)."""
        if trigger.regenerate is not None:
            return None
        handles = parse_mentions(trigger.text)
        absent = [h for h in handles if not self._reached(roster.by_handle(h), delegated)]
        absent = [h for h in absent if h in await self.triggers.existing_handles(absent)]
        if absent:
            names = ", ".join(f"@{h}" for h in absent)
            verb = "is" if len(absent) == 1 else "are"
            return (
                f"{names} {verb} not taking part in this conversation, so not asked. "
                "Add an agent as a participant to bring it in.",
                {"unrouted": {"reason": "not_in_room", "handles": absent, "seq": trigger.seq}},
            )
        # Where several people talk, an unmentioned message is usually meant for them.
        if delegated is not None or handles or len(roster.speakers) < 2 or len(roster.humans) > 1:
            return None
        agent_ids = [a.participant_id for a in roster.agents]
        last_seq = conversation.last_seq or trigger.seq
        if await self.triggers.hinted_since_reply(conversation.id, last_seq, agent_ids):
            return None
        names = ", ".join(f"@{a.handle}" for a in roster.speakers)
        return (
            f"No agent answers here unless mentioned: {names}.",
            {"unrouted": {"reason": "no_mention", "seq": trigger.seq}},
        )

    @staticmethod
    def _reached(agent: Candidate | None, delegated: set[str] | None) -> bool:
        return agent is not None and (agent.speaks or agent.agent_id in (delegated or ()))

    async def _run_trigger(self, run: TriggerRun) -> None:
        conversation_id = run.conversation.id
        queue = run.queue
        while queue:
            if queue[0].agent_id in run.delegated:
                queue.popleft()  # it already answered this message as a delegate
                continue
            if run.lease.lost:
                raise LeaseLostError(f"lease on {conversation_id} lost")
            if not run.budget.take():
                await self._loop_guard(conversation_id, run.budget, list(queue))
                return
            queued = queue.popleft()
            # The roster may have been read again since it was queued (edits apply).
            speaker = run.roster.by_agent_id(queued.agent_id) or queued
            outcome = await self._agent_turn(run, speaker)
            if run.lease_lost:
                raise LeaseLostError(f"lease on {conversation_id} lost")
            if outcome.status == TurnStatus.CANCELLED:
                return
            if outcome.status != TurnStatus.COMPLETED or run.trigger.regenerate is not None:
                continue  # a regenerated reply hands on to nobody: the first version did
            for agent in self.router.mentioned(
                run.roster, outcome.content, exclude_agent_id=speaker.agent_id
            ):
                waiting = any(agent.agent_id == w.agent_id for w in queue)
                if not waiting and agent.agent_id not in run.delegated:
                    queue.append(agent)

    async def _claim(
        self, conversation_id: str
    ) -> tuple[Claim, tuple[Conversation, Roster, str | None] | None]:
        """One write transaction, holding the lease: claim the conversation (the next fencing
        token; turns a dead holder left running are failed) and, when a trigger is owed, read
        the conversation, its roster and the agent that spoke last."""
        async with self.db.session() as session:
            claim = await claim_in(session, conversation_id)
            if not claim.owed:
                return claim, None
            conversation = claim.conversation
            roster = await roster_in(session, conversation_id)
            last_agent = await self._last_agent_speaker(session, conversation, roster)
        return claim, (conversation, roster, last_agent)

    def _policy(self, conversation: Conversation) -> ConversationPolicy:
        try:
            return ConversationPolicy.from_config(conversation.policy)
        except InvalidPolicy:
            # Stored before validation existed: answer with the defaults rather than not at all.
            log.exception("conversation %s has an invalid stored policy", conversation.id)
            return ConversationPolicy()

    async def _loop_guard(
        self, conversation_id: str, budget: Budget, waiting: list[Candidate]
    ) -> None:
        handles = ", ".join(f"@{agent.handle}" for agent in waiting)
        await self.post_system_message(
            conversation_id,
            f"Stopped after {budget.used} agent turns for one message (the limit, "
            f"max_agent_turns, is {budget.limit}). Not run: {handles}. "
            "Mention an agent to continue.",
            meta={
                "loop_guard": {
                    "max_agent_turns": budget.limit,
                    "agent_turns": budget.used,
                    "not_run": [agent.handle for agent in waiting],
                }
            },
        )

    @staticmethod
    async def _last_agent_speaker(
        session: AsyncSession, conversation: Conversation, roster: Roster
    ) -> str | None:
        """The roster agent that wrote the latest of the last `LAST_SPEAKER_SCAN` messages
        written by one (seq is gap-free, so they are those above `last_seq - SCAN`)."""
        if not roster.agents:
            return None
        participant_id = await session.scalar(
            select(ConversationMessage.author_participant_id)
            .where(
                ConversationMessage.conversation_id == conversation.id,
                ConversationMessage.seq > (conversation.last_seq or 0) - LAST_SPEAKER_SCAN,
                ConversationMessage.author_participant_id.in_(
                    [agent.participant_id for agent in roster.agents]
                ),
            )
            .order_by(ConversationMessage.seq.desc())
            .limit(1)
        )
        author = roster.by_participant_id(participant_id or "")
        return author.agent_id if author is not None else None

    # One agent turn.

    async def _agent_turn(
        self,
        run: TriggerRun,
        speaker: Candidate,
        *,
        parent: Delegation | None = None,
        task: str | None = None,
    ) -> TurnOutcome:
        conversation_id = run.conversation.id
        parent_turn_id = parent.turn_id if parent is not None else None
        refusals: list[BudgetExceeded] = []
        try:
            turn = await self.turns.start(
                conversation_id,
                speaker.agent_id,
                trigger_seq=run.trigger.seq,
                parent_turn_id=parent_turn_id,
                model=speaker.model,
                fence=run.fence,
                also=self._budget_check(run, speaker, refusals),
            )
        except Fenced as exc:
            run.lease_lost = True
            raise LeaseLostError(str(exc)) from exc
        observed = turn_observer.turn_started(conversation_id, turn.id, speaker, parent_turn_id)
        agent = {"id": speaker.agent_id, "name": speaker.name, "handle": speaker.handle}
        await self.bus.publish(
            conversation_id,
            event(
                "turn.start",
                conversation_id,
                turn_id=turn.id,
                agent=agent,
                parent_turn_id=parent_turn_id,
            ),
        )
        if refusals:
            refused = TurnFinish(run, turn.id, speaker, parent_turn_id, [])
            return await self._conclude(refused.refused(refusals[0], BudgetExceeded.code))
        deltas: list[str] = []

        async def emit(frame: dict[str, Any]) -> None:
            frame = {**frame, "conversation_id": conversation_id, "turn_id": turn.id}
            if frame.get("type") == "delta":
                if not deltas:
                    turn_observer.first_text(turn.id)
                deltas.append(str(frame.get("text", "")))
            await self.bus.publish(conversation_id, frame)

        delegation = Delegation(
            self.db,
            self.settings,
            conversation_id,
            turn.id,
            speaker,
            depth=parent.child_depth if parent is not None else 0,
            chain=parent.child_chain if parent is not None else (),
            run_nested=lambda target, text, caller: self._delegated_turn(run, target, text, caller),
            known=run.roster.known,
        )
        inputs = None
        if speaker.agent is not None:
            inputs = TurnInputs(speaker.agent, run.roster, run.summary)
        request = AgentTurnRequest(
            conversation_id=conversation_id,
            turn_id=turn.id,
            agent_id=speaker.agent_id,
            user_id=run.trigger.user_id,
            group_id=run.conversation.group_id,
            emit=emit,
            task=task,
            delegation_depth=delegation.depth,
            delegation_chain=delegation.chain,
            delegate=delegation,
            inputs=inputs,
            notice=self._regenerate_notice(run, parent),
        )
        runner_task = asyncio.create_task(self.runner.run(request), context=observed)
        running = self.registry.add(conversation_id, turn.id, runner_task, parent_turn_id)
        finish = TurnFinish(run, turn.id, speaker, parent_turn_id, deltas, inputs)
        try:
            # Time spent waiting for a person's approval does not count (see runtime.turn_clock).
            done = await request.clock.wait(runner_task, self.settings.turn_timeout_seconds)
        except asyncio.CancelledError:
            # This process is closing, or the turn that delegated to this one was cancelled.
            runner_task.cancel()
            await asyncio.gather(runner_task, return_exceptions=True)
            reason = running.cancelled_by or self._inherited_reason(conversation_id, parent)
            await self._conclude(finish.cancelled(reason))
            raise
        finally:
            self.registry.remove(conversation_id, turn.id)
        if not done:
            runner_task.cancel()
            await asyncio.gather(runner_task, return_exceptions=True)
            error = TurnTimeout(
                f"turn timed out after {self.settings.turn_timeout_seconds:g} s",
                conversation_id=conversation_id,
                turn_id=turn.id,
                agent_id=speaker.agent_id,
            )
            return await self._conclude(finish.failed(error))
        if runner_task.cancelled():
            return await self._conclude(finish.cancelled(running.cancelled_by or {}))
        exc = runner_task.exception()
        if exc is not None:
            log.warning("turn %s of @%s failed", turn.id, speaker.handle, exc_info=exc)
            return await self._conclude(finish.failed(exc))
        return await self._conclude(finish.result(runner_task.result()))

    def _budget_check(
        self, run: TriggerRun, speaker: Candidate, refusals: list[BudgetExceeded]
    ) -> Callable[[AsyncSession], Awaitable[None]]:
        """Read today's usage in the turn's start transaction; a used-up budget of the person
        who asked or of the agent is left in `refusals` (the turn then ends without running)."""

        async def check(session: AsyncSession) -> None:
            refusal = await self.meter.refusal_in(
                session,
                user_id=run.trigger.user_id,
                agent_id=speaker.agent_id,
                conversation_id=run.conversation.id,
            )
            if refusal is not None:
                refusals.append(refusal)

        return check

    @staticmethod
    def _regenerate_notice(run: TriggerRun, parent: Delegation | None) -> str | None:
        request = run.trigger.regenerate
        if request is None or parent is not None:
            return None
        return regenerate.notice(request, request.get("original"))

    def _inherited_reason(self, conversation_id: str, parent: Delegation | None) -> dict[str, Any]:
        """Why a turn was cancelled from outside: shutdown, or its caller's cancellation."""
        if self._closed or parent is None:
            return {"reason": "shutdown"}
        for running in self.registry.running(conversation_id):
            if running.turn_id == parent.turn_id and running.cancelled_by:
                return {**running.cancelled_by, "parent_turn_id": parent.turn_id}
        return {"reason": "parent_cancelled", "parent_turn_id": parent.turn_id}

    async def _delegated_turn(
        self, run: TriggerRun, target: Agent, task: str, caller: Delegation
    ) -> str:
        if not run.budget.take():
            raise caller.refused(
                f"this message already used its {run.budget.limit} agent turns (max_agent_turns)",
                target,
            )
        speaker = await self._ensure_participant(run, target)
        outcome = await self._agent_turn(run, speaker, parent=caller, task=task)
        if outcome.status == TurnStatus.COMPLETED:
            run.delegated.add(speaker.agent_id)
            return outcome.content
        raise DelegationRefused(
            f"@{speaker.handle} did not finish ({outcome.status}): {outcome.error or ''}".strip(),
            conversation_id=run.conversation.id,
            turn_id=outcome.turn_id,
            agent_id=speaker.agent_id,
        )

    async def _ensure_participant(self, run: TriggerRun, agent: Agent) -> Candidate:
        """A delegate that is not in the conversation joins as an observer: its reply shows in
        the transcript under its own name, but routing never picks it on its own."""
        existing = run.roster.by_agent_id(agent.id)
        if existing is not None:
            return existing
        conversation_id = run.conversation.id
        participant = await self.conversations.add_participant(
            conversation_id, NewParticipant(agent_id=agent.id, role=Role.OBSERVER.value)
        )
        await self.bus.publish(
            conversation_id,
            event(
                "participant.added",
                conversation_id,
                participant_id=participant.id,
                agent_id=agent.id,
                role=participant.role,
            ),
        )
        run.roster = await load_roster(self.db, conversation_id)
        return run.roster.by_agent_id(agent.id) or candidate(agent, participant)

    async def _conclude(self, done: FinishedTurn) -> TurnOutcome:
        """Store the reply and end the turn in one transaction fenced by the lease's token,
        then announce both. A newer holder's claim already failed and announced this turn."""
        turn_observer.turn_finished(done)
        run, conversation_id = done.run, done.run.conversation.id
        # Read the roster again with the reply when another agent may speak next this trigger.
        refresh = bool(run.queue) or bool(parse_mentions(done.content))
        summary = done.summary_update
        after: dict[str, Any] = {}
        done.usage = self.meter.priced_usage(done.model, done.usage)

        async def with_reply(session: AsyncSession) -> None:
            if done.usage["input_tokens"] or done.usage["output_tokens"]:
                record_in(session, **self._ledger_fields(done))
            if summary is not None:
                after["summary"] = await summary.apply(session, conversation_id)
            if refresh:
                after["roster"] = await roster_in(session, conversation_id)

        try:
            message = await self._store_reply(done, with_reply)
        except Fenced:
            run.lease_lost = True
            log.warning("turn %s lost its lease; its reply was not stored", done.turn_id)
            error = "the conversation's lease was lost; the reply was not stored"
            return TurnOutcome(done.turn_id, TurnStatus.FAILED, done.content, None, error)
        if summary is not None and after.get("summary"):
            run.summary.text, run.summary.seq = summary.text, summary.seq
        if "roster" in after:
            run.roster = after["roster"]
        author = done.speaker.participant or await self._participant(done.speaker.participant_id)
        result = self._result(message, author, done.speaker.name, created=True)
        await self._publish_message(conversation_id, result)
        await self._publish_turn_end(conversation_id, done, message.seq, done.status, done.error)
        return TurnOutcome(done.turn_id, done.status, done.content, message.seq, done.error)

    def _ledger_fields(self, done: FinishedTurn) -> dict[str, Any]:
        """The usage ledger row of a turn: billed to the person whose message it answers."""
        return self.meter.ledger_fields(
            done.model,
            done.usage,
            source="turn",
            turn_id=done.turn_id,
            parent_turn_id=done.parent_turn_id,
            conversation_id=done.run.conversation.id,
            agent_id=done.speaker.agent_id,
            user_id=done.run.trigger.user_id,
        )

    async def _store_reply(
        self, done: FinishedTurn, also: Callable[[AsyncSession], Awaitable[None]]
    ) -> ConversationMessage:
        return await self.turns.finish_with_reply(
            done.turn_id,
            done.status,
            conversation_id=done.run.conversation.id,
            content=done.content,
            author_participant_id=done.speaker.participant_id,
            usage=done.usage,
            error=done.error,
            model=done.model,
            reply_fields={
                "status": MESSAGE_STATUS[TurnStatus(done.status)],
                "meta": done.meta(),
            },
            also=also,
            fence=done.run.fence,
            answers=done.run.trigger.seq,
        )

    async def _publish_turn_end(
        self,
        conversation_id: str,
        done: FinishedTurn,
        message_seq: int | None,
        status: str,
        error: str | None,
    ) -> None:
        fields: dict[str, Any] = {
            "turn_id": done.turn_id,
            "status": status,
            "message_seq": message_seq,
            "usage": done.usage,
            "parent_turn_id": done.parent_turn_id,
        }
        if error:
            fields["error"] = error
        if done.error_code:
            fields["code"] = done.error_code
        await self.bus.publish(conversation_id, event("turn.end", conversation_id, **fields))

    # Cross-process cancel.

    async def _cancel_remote(
        self, conversation_id: str, turn_id: str | None, reason: dict[str, Any]
    ) -> bool:
        running = await self.turns.running(conversation_id)
        targets = [
            t.id for t in running if (t.id == turn_id if turn_id else t.parent_turn_id is None)
        ]
        if not targets:
            return False
        await self.bus.publish(
            CONTROL_CHANNEL,
            {
                "type": "cancel",
                "origin": self.process_id,
                "conversation_id": conversation_id,
                "turn_ids": targets,
                "reason": reason,
            },
        )
        return True

    async def _listen_control(self, subscription: Subscription) -> None:
        async for frame in subscription:
            if frame.get("type") != "cancel" or frame.get("origin") == self.process_id:
                continue
            for turn_id in frame.get("turn_ids", ()):
                self.registry.cancel(
                    str(frame.get("conversation_id")), turn_id, reason=frame.get("reason") or {}
                )

    # Small helpers.

    async def _poster(
        self, conversation_id: str, user_id: str
    ) -> tuple[Conversation, ConversationParticipant | None, str | None]:
        """The conversation, the user's active participant row (if any) and name: one query."""
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Conversation, ConversationParticipant, User.name)
                    .outerjoin(
                        ConversationParticipant,
                        and_(
                            ConversationParticipant.conversation_id == Conversation.id,
                            ConversationParticipant.user_id == user_id,
                            ConversationParticipant.is_removed.is_(False),
                        ),
                    )
                    .outerjoin(User, User.id == ConversationParticipant.user_id)
                    .where(Conversation.id == conversation_id)
                    .limit(1)
                )
            ).first()
        if row is None:
            raise NotFound("conversations", conversation_id)
        conversation, participant, name = row
        return conversation, participant, name

    async def _join(
        self, conversation_id: str, user_id: str
    ) -> tuple[ConversationParticipant, str | None]:
        """A group member posting for the first time gets a participant row."""
        role = await self.conversations.access(conversation_id, user_id)
        if role is None:
            raise NotFound("conversation_participants", user_id, "user_id")
        participant = await self.conversations.add_participant(
            conversation_id, NewParticipant(user_id=user_id, role=role)
        )
        async with self.db.read() as session:
            name = await session.scalar(select(User.name).where(User.id == user_id))
        return participant, name

    async def _already_sent(
        self, conversation_id: str, participant_id: str, client_msg_id: str | None
    ) -> ConversationMessage | None:
        if client_msg_id is None:
            return None
        return await self.messages.by_client_msg_id(conversation_id, participant_id, client_msg_id)

    async def _participant(self, participant_id: str) -> ConversationParticipant | None:
        async with self.db.read() as session:
            return await session.get(ConversationParticipant, participant_id)

    @staticmethod
    def _result(
        message: ConversationMessage,
        author: ConversationParticipant | None,
        name: str | None,
        *,
        created: bool,
    ) -> PostResult:
        return PostResult(message_to_wire(message, author, name), message.seq, created)

    async def _publish_message(self, conversation_id: str, result: PostResult) -> None:
        await self.bus.publish(
            conversation_id,
            event("message", conversation_id, seq=result.seq, message=result.message),
        )
        for listener in self.message_listeners:
            listener(conversation_id, result.message)
