"""Usage per day and agent from stored turns and messages; course analytics across students."""

from __future__ import annotations

from datetime import UTC, datetime

from store import crud
from store.analytics import Feedback, SupportTickets
from store.conversations import Conversations, NewParticipant
from store.course_analytics import course_analytics
from store.db import Database
from store.models import AgentTurn, ConversationMessage, UserGeneratedAsset, UserModuleProgress
from store.usage import usage
from tests.store import factories

DAY1, DAY2 = datetime(2024, 5, 1, 10, tzinfo=UTC), datetime(2024, 5, 2, 23, 30, tzinfo=UTC)


async def _message(db: Database, conversation_id: str, seq: int, when: datetime) -> None:
    row = ConversationMessage(conversation_id=conversation_id, seq=seq, content="hi", kind="system")
    row.created_at = when
    await crud.insert(db, row)


async def _turn(db: Database, conversation_id: str, agent_id: str, when: datetime, i: int, o: int):
    row = AgentTurn(
        conversation_id=conversation_id,
        agent_id=agent_id,
        status="completed",
        input_tokens=i,
        output_tokens=o,
    )
    row.created_at = when
    await crud.insert(db, row)


async def test_usage_per_day_and_agent_only_from_my_conversations(db: Database) -> None:
    ada, bob = await factories.user(db), await factories.user(db, "Bob")
    hook, gift = await factories.agent(db, "Hook coach"), await factories.agent(db, "Gift coach")
    conversations = Conversations(db)
    mine = await conversations.create(
        "Room", ada.id, participants=[NewParticipant(agent_id=hook.id)]
    )
    theirs = await conversations.create("Other", bob.id)
    for seq, when in enumerate([DAY1, DAY1, DAY2], start=1):
        await _message(db, mine.id, seq, when)
    await _message(db, theirs.id, 1, DAY1)
    await _turn(db, mine.id, hook.id, DAY1, 100, 20)
    await _turn(db, mine.id, hook.id, DAY2, 50, 5)
    await _turn(db, mine.id, gift.id, DAY2, 10, 1)
    await _turn(db, theirs.id, gift.id, DAY2, 999, 999)

    body = await usage(db, ada.id)
    assert body["days"] == [
        {"day": "2024-05-01", "messages": 2, "turns": 1, "input_tokens": 100, "output_tokens": 20},
        {"day": "2024-05-02", "messages": 1, "turns": 2, "input_tokens": 60, "output_tokens": 6},
    ]
    assert body["agents"] == [
        {"agent_id": hook.id, "name": "Hook coach", "turns": 2, "input_tokens": 150,
         "output_tokens": 25},
        {"agent_id": gift.id, "name": "Gift coach", "turns": 1, "input_tokens": 10,
         "output_tokens": 1},
    ]  # fmt: skip
    later = await usage(db, ada.id, since=datetime(2024, 5, 2, tzinfo=UTC))
    assert [d["day"] for d in later["days"]] == ["2024-05-02"]


async def test_course_analytics_per_module(db: Database) -> None:
    students = [await factories.user(db, f"S{i}") for i in range(4)]
    await factories.user(db, "Staff", is_staff=True)
    hook, gift = await factories.module(db, 1, "Hook"), await factories.module(db, 2, "Gift")
    statuses = {hook.id: ["Completed", "Completed", "In Progress", "Not Started"]}
    statuses[gift.id] = ["Completed"]
    for module_id, states in statuses.items():
        for student, state in zip(students, states, strict=False):
            await crud.insert(
                db, UserModuleProgress(user_id=student.id, module_id=module_id, status=state)
            )
    await Feedback(db).create(students[0].id, module_id=hook.id, csat=5, nps=10)
    await Feedback(db).create(students[1].id, module_id=hook.id, csat=3, nps=5)
    tickets = SupportTickets(db)
    await tickets.create(students[0].id, module_id=hook.id, subject="a", message="b")
    closed = await tickets.create(students[1].id, module_id=hook.id, subject="a", message="b")
    await tickets.update(closed.id, status="closed")
    for student in students[:2]:
        asset = UserGeneratedAsset(
            user_id=student.id, elevate_step="Hook", asset_type="ad", content="x"
        )
        await crud.insert(db, asset)

    body = await course_analytics(db)
    assert body["students"] == 4
    first, second = body["modules"]
    assert (first["module_number"], first["started"], first["completed"]) == (1, 3, 2)
    assert first["completion_rate"] == 0.5 and first["drop_off"] == 1 - 2 / 3
    assert (first["csat"], first["nps"], first["responses"]) == (50.0, 0.0, 2)
    assert (first["open_tickets"], first["assets"]) == (1, 2)
    assert (second["started"], second["completed"], second["completion_rate"]) == (1, 1, 0.25)
    assert (second["csat"], second["open_tickets"], second["assets"]) == (None, 0, 0)
