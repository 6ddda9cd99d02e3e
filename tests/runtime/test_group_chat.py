"""Whole group chats (two people, several agents) on the real database, bus and lock, with a
scripted runner: routing, the loop guard, event order and what is stored."""

from __future__ import annotations

from runtime.router import SpeakerRouter
from runtime.testing import ScriptedChatModel, clear_scripted, scripted
from store.agents import Agents
from store.db import Database
from store.turns import Turns
from tests.runtime.group_harness import (
    Say,
    World,
    add_agent,
    add_room,
    add_user,
    fast_settings,
    of_type,
    offline_settings,
    open_world,
    real_runner,
    record,
)


async def people_and_agents(db: Database):
    ann, bob = await add_user(db, "Ann"), await add_user(db, "Bob")
    alpha = await add_agent(db, "alpha", description="plans trips")
    beta = await add_agent(db, "beta", description="checks the weather")
    gamma = await add_agent(db, "gamma", description="cooks")
    return ann, bob, alpha, beta, gamma


async def test_mentions_route_in_order_and_unmentioned_messages_wait(world: World) -> None:
    ann, bob, alpha, beta, gamma = await people_and_agents(world.db)
    room = await add_room(world.db, ann, users=[bob], agents=[alpha, beta, gamma])
    world.runner.script(beta, "Sunny all week.")
    world.runner.script(alpha, "Then let's go hiking.")

    await world.post(room, bob, "morning Ann")
    await world.idle(room)
    assert world.runner.requests == []

    await world.post(room, ann, "@Beta what's the weather? @alpha plan something")
    await world.idle(room)
    assert await world.said(room) == [
        ("Bob", "morning Ann", "complete"),
        ("Ann", "@Beta what's the weather? @alpha plan something", "complete"),
        ("@beta", "Sunny all week.", "complete"),
        ("@alpha", "Then let's go hiking.", "complete"),
    ]
    assert [r.user_id for r in world.runner.requests] == [ann.id, ann.id]


async def test_events_arrive_in_order_and_deltas_join_to_the_stored_reply(world: World) -> None:
    ann, bob, alpha, beta, _ = await people_and_agents(world.db)
    room = await add_room(world.db, ann, users=[bob], agents=[alpha, beta])
    world.runner.script(alpha, "Hello there, @beta will check.")
    world.runner.script(beta, "It will rain.")
    async with record(world.bus, room) as recorder:
        posted = await world.post(room, ann, "@alpha hi")
        frames = await recorder.turn_ends(2)
    await world.idle(room)

    kinds = [f["type"] for f in frames]
    assert kinds[0] == "message" and frames[0]["seq"] == posted.seq == 1
    stored = {m.seq: m for m in await world.transcript(room)}
    for turn_start in of_type(frames, "turn.start"):
        turn_id = turn_start["turn_id"]
        own = [
            f for f in frames if turn_id in (f.get("turn_id"), f.get("message", {}).get("turn_id"))
        ]
        kinds = [f["type"] for f in own]
        assert kinds[0] == "turn.start" and kinds[-2:] == ["message", "turn.end"]
        assert set(kinds[1:-2]) == {"delta"}
        end = own[-1]
        text = "".join(f["text"] for f in own if f["type"] == "delta")
        assert end["status"] == "completed"
        assert stored[end["message_seq"]].content == text == own[-2]["message"]["content"]
        tokens = {key: end["usage"][key] for key in ("input_tokens", "output_tokens")}
        assert tokens == {"input_tokens": 10, "output_tokens": len(text.split())}
    assert [f["agent"]["handle"] for f in of_type(frames, "turn.start")] == ["alpha", "beta"]
    assert [f["seq"] for f in of_type(frames, "message")] == [1, 2, 3]
    assert sorted(stored) == [1, 2, 3]


async def test_one_agent_answers_every_message_of_its_room(world: World) -> None:
    ann, bob, alpha, *_ = await people_and_agents(world.db)
    room = await add_room(world.db, ann, users=[bob], agents=[alpha])
    world.runner.always(alpha, lambda request: "Noted.")
    await world.post(room, ann, "one")
    await world.idle(room)
    await world.post(room, bob, "two")
    await world.idle(room)
    assert [who for who, *_ in await world.said(room)] == ["Ann", "@alpha", "Bob", "@alpha"]


async def test_round_robin_takes_turns_in_participant_order(world: World) -> None:
    ann, _, alpha, beta, gamma = await people_and_agents(world.db)
    room = await add_room(
        world.db, ann, agents=[alpha, beta, gamma], policy={"speaker": "round_robin"}
    )
    for agent in (alpha, beta, gamma):
        world.runner.always(agent, lambda request: "ok")
    for text in ("one", "two", "three", "four"):
        await world.post(room, ann, text)
        await world.idle(room)
    speakers = [who for who, *_ in await world.said(room) if who != "Ann"]
    assert speakers == ["@alpha", "@beta", "@gamma", "@alpha"]


async def test_the_selector_picks_the_agent_a_model_names(db: Database, redis_url: str | None):
    picker = ScriptedChatModel(replies=["@gamma", "no idea"])
    router = SpeakerRouter(fast_settings(), selector_models=lambda name: picker)
    async with open_world(db, redis_url, router=router) as world:
        ann, _, alpha, beta, gamma = await people_and_agents(db)
        room = await add_room(db, ann, agents=[alpha, beta, gamma])
        world.runner.always(gamma, lambda request: "Soup?")
        world.runner.always(alpha, lambda request: "Trip?")
        await world.post(room, ann, "what's for dinner?")
        await world.idle(room)
        await world.post(room, ann, "hmm")
        await world.idle(room)
        speakers = [who for who, *_ in await world.said(room) if who != "Ann"]
    assert speakers == ["@gamma", "@alpha"]
    assert "@beta: checks the weather" in picker.last_prompt_text()


async def test_agents_mentioning_each_other_are_stopped_by_the_loop_guard(world: World) -> None:
    ann, bob, alpha, beta, _ = await people_and_agents(world.db)
    room = await add_room(
        world.db, ann, users=[bob], agents=[alpha, beta], policy={"max_agent_turns": 5}
    )
    world.runner.always(alpha, lambda request: "over to you @beta")
    world.runner.always(beta, lambda request: "no, you @alpha")
    await world.post(room, ann, "@alpha start")
    await world.idle(room)

    said = await world.said(room)
    agent_lines = [who for who, _, _ in said if who and who.startswith("@")]
    assert agent_lines == ["@alpha", "@beta", "@alpha", "@beta", "@alpha"]
    who, text, _ = said[-1]
    assert who is None and "max_agent_turns" in text and "5" in text
    guard = (await world.transcript(room))[-1]
    assert guard.kind == "system"
    assert guard.meta["loop_guard"] == {
        "max_agent_turns": 5,
        "agent_turns": 5,
        "not_run": ["beta"],
    }
    # The bound is per human message: the next one gets a fresh budget.
    await world.post(room, bob, "@beta once more")
    await world.idle(room)
    assert len(await Turns(world.db).for_conversation(room)) == 10


async def test_a_failing_model_fails_the_turn_and_the_conversation_goes_on(world: World) -> None:
    ann, _, alpha, *_ = await people_and_agents(world.db)
    room = await add_room(world.db, ann, agents=[alpha])
    world.runner.script(alpha, Say("Let me think", error=RuntimeError("model unreachable")), "Ok")
    async with record(world.bus, room) as recorder:
        await world.post(room, ann, "first")
        frames = await recorder.turn_ends(1)
    await world.post(room, ann, "second")
    await world.idle(room)

    end = of_type(frames, "turn.end")[0]
    assert end["status"] == "failed" and "model unreachable" in end["error"]
    said = await world.said(room)
    assert said[1] == ("@alpha", "Let me think", "failed")
    assert said[3] == ("@alpha", "Ok", "complete")
    failed = await Turns(world.db).get(end["turn_id"])
    assert failed.status == "failed" and failed.message_seq == 2


async def test_a_resent_message_is_stored_once_and_answered_once(world: World) -> None:
    ann, _, alpha, *_ = await people_and_agents(world.db)
    room = await add_room(world.db, ann, agents=[alpha])
    world.runner.always(alpha, lambda request: "hi")
    first = await world.post(room, ann, "hello", client_msg_id="c-1")
    again = await world.post(room, ann, "hello", client_msg_id="c-1")
    await world.idle(room)
    assert (first.created, again.created) == (True, False)
    assert again.seq == first.seq and again.message["id"] == first.message["id"]
    assert len(world.runner.requests) == 1
    assert [m.seq for m in await world.transcript(room)] == [1, 2]


async def test_stored_messages_keep_a_gap_free_order(world: World) -> None:
    ann, bob, alpha, beta, _ = await people_and_agents(world.db)
    room = await add_room(world.db, ann, users=[bob], agents=[alpha, beta])
    world.runner.always(alpha, lambda request: "a")
    world.runner.always(beta, lambda request: "b")
    for index in range(3):
        await world.post(room, ann, f"@alpha {index}")
        await world.post(room, bob, f"@beta {index}")
    await world.idle(room)
    messages = await world.transcript(room)
    assert [m.seq for m in messages] == list(range(1, 13))
    assert sum(1 for m in messages if m.turn_id) == 6


# With the production runner: compiled agents, the offline model and scripted models.


async def test_a_whole_group_chat_with_the_offline_model(
    db: Database, redis_url: str | None
) -> None:
    settings = offline_settings()
    runner = real_runner(db, settings)
    async with open_world(db, redis_url, runner=runner, settings=settings) as world:
        ann, bob = await add_user(db, "Ann"), await add_user(db, "Bob")
        scout = await add_agent(db, "scout", description="checks trails", model="offline:default")
        chef = await add_agent(db, "chef", description="cooks", model="offline:default")
        planner = await add_agent(
            db, "planner", description="plans", model="offline:default", delegates_to=[scout.id]
        )
        room = await add_room(db, ann, users=[bob], agents=[planner, chef])
        async with record(world.bus, room) as recorder:
            await world.post(room, bob, "hello everyone")
            await world.post(room, ann, "@planner ask @chef what we should cook tonight")
            await world.idle(room)
            await world.post(room, ann, "@planner /delegate @scout check the north trail")
            await world.idle(room)
            frames = await recorder.turn_ends(4)
        said = await world.said(room)

    speakers = [who for who, *_ in said]
    assert speakers == ["Bob", "Ann", "@planner", "@chef", "Ann", "@scout", "@planner"]
    assert "@chef, over to you" in said[2][1]
    assert "Scout (offline)" in said[5][1] and "check the north trail" in said[5][1]
    assert "delegate returned" in said[6][1] and "Scout (offline)" in said[6][1]
    starts = {f["turn_id"]: f for f in of_type(frames, "turn.start")}
    stored = {m.seq: m for m in await world.transcript(room)}
    for end in of_type(frames, "turn.end"):
        text = "".join(
            f["text"] for f in of_type(frames, "delta") if f["turn_id"] == end["turn_id"]
        )
        assert end["status"] == "completed"
        assert stored[end["message_seq"]].content == text
        assert end["usage"]["output_tokens"] > 0
    nested = [s for s in starts.values() if s["parent_turn_id"]]
    assert [s["agent"]["handle"] for s in nested] == ["scout"]
    assert starts[nested[0]["parent_turn_id"]]["agent"]["handle"] == "planner"
    calls = of_type(frames, "tool.call")
    assert [(c["tool"], c["arguments"]["agent"]) for c in calls] == [("delegate", "scout")]


async def test_an_edited_agent_answers_with_its_new_instructions(
    db: Database, redis_url: str | None
) -> None:
    settings = offline_settings()
    model = scripted("editable", "Arr, ahoy.", "Beep. Boop.")
    try:
        runner = real_runner(db, settings)
        async with open_world(db, redis_url, runner=runner, settings=settings) as world:
            ann = await add_user(db, "Ann")
            parrot = await add_agent(
                db, "parrot", model="scripted:editable", instructions="Talk like a pirate."
            )
            room = await add_room(db, ann, agents=[parrot])
            await world.post(room, ann, "hi")
            await world.idle(room)
            await Agents(db).update(parrot.id, instructions="Talk like a robot.")
            await world.post(room, ann, "hi again")
            await world.idle(room)
            said = await world.said(room)
    finally:
        clear_scripted()
    assert [text for _, text, _ in said] == ["hi", "Arr, ahoy.", "hi again", "Beep. Boop."]
    first, second = (
        "\n".join(str(m.content) for m in prompt if m.type == "system") for prompt in model.received
    )
    assert "pirate" in first and "robot" not in first
    assert "robot" in second and "pirate" not in second
