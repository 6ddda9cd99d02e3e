"""One server process on SQLite, killed with SIGKILL mid-turn and started again on its file.

What it had acknowledged must be answered once the new process is up: the killed turn is
ended (failed, with its reason) rather than shown running to anybody, its message and the one
queued behind it get one reply each, and a resend of an answered message runs nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from store.triggers import STALE_ERROR
from tests.scale.cluster import FakeModel, ServerProcess, one_agent_room, register, stored_messages
from tests.scale.test_two_processes import agent_message_after, assert_gap_free, turns_of

HOLD = "please HOLD while I pull the plug"


def sqlite_server(name: str, workdir: Path, model: FakeModel, database: str) -> ServerProcess:
    env = {
        "DATABASE_URL": database,
        "REDIS_URL": "",  # one process: the in-process bus and lock
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": "test-key",
    }
    return ServerProcess(name, workdir, env)


def agent_replies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["author"]["kind"] == "agent"]


async def test_a_killed_process_answers_what_it_acknowledged_after_a_restart(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'elevate.sqlite'}"
    model = FakeModel(tmp_path)
    first = sqlite_server("first", tmp_path, model, database)
    second = sqlite_server("second", tmp_path, model, database)
    try:
        await model.ready()
        await first.ready()
        token = await register(first, "Ada")
        room = await one_agent_room(first, token)
        socket = await first.socket(token)
        await socket.subscribe(room)
        held = await socket.post(room, HOLD)
        stalled = await socket.until(lambda f: f["type"] == "delta")
        queued_id = uuid.uuid4().hex
        queued = await socket.post(room, "queued behind the held turn", queued_id)
        assert (held["type"], queued["type"]) == ("ack", "ack"), (held, queued)
        first.kill()

        await second.ready()
        again = await second.socket(token)
        subscribed = await again.subscribe(room)
        assert subscribed["type"] == "subscribed", subscribed
        # The killed turn's message runs again, then the queued one: a reply each.
        replies = await again.count(agent_message_after(room, queued["seq"]), 2)
        assert all(reply["message"]["content"] for reply in replies)

        resent = await again.post(room, "queued behind the held turn", queued_id)
        assert (resent["type"], resent["seq"]) == ("ack", queued["seq"]), resent
        later = await again.post(room, "one more")
        await again.until(agent_message_after(room, later["seq"]))

        # The killed turn was never announced as running to the new subscriber; it ended.
        starts = [f for f in again.frames if f["type"] == "turn.start"]
        assert stalled["turn_id"] not in {f["turn_id"] for f in starts}
        stored = await stored_messages(second, token, room)
        assert_gap_free(stored)
        replied_to = [m["seq"] for m in stored if m["author"]["kind"] == "user"]
        assert replied_to == [held["seq"], queued["seq"], later["seq"]]
        # The killed turn's message and the queued one are answered once each, in order.
        replies = [m["seq"] for m in agent_replies(stored)]
        assert replies == [queued["seq"] + 1, queued["seq"] + 2, later["seq"] + 1]
        turns = await turns_of(database, room)
        killed = next(t for t in turns if t.id == stalled["turn_id"])
        assert (killed.status, killed.error) == ("failed", STALE_ERROR)
        assert [(t.trigger_seq, t.status) for t in turns] == [
            (held["seq"], "failed"),
            (held["seq"], "completed"),
            (queued["seq"], "completed"),
            (later["seq"], "completed"),
        ]
        await again.close()
    finally:
        for process in (second, first, model):
            process.stop()
