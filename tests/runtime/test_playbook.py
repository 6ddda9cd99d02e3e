"""Playbook runs through the runner: the real langchain-openai client with structured output
against the local OpenAI-compatible server, errors stored with their reason, the offline
draft, and the rendering rules."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agents.course import ensure_course
from runtime.bus import InProcessBus
from runtime.offline import playbook_draft
from runtime.playbook import MissingContext, PlaybookRunner, render
from runtime.settings import Settings
from store.course import CourseWork
from store.db import Database
from store.elevate import PlaybookPrompts
from store.foundation import Foundations
from store.users import Users
from tests.support.openai_server import OpenAIServer, ScriptedCompletion

FOUNDATION = {
    "company_context": {
        "business_name": "Northfield Roasters",
        "core_offers": "A coffee subscription roasted to order",
        "value_proposition": "Peak-fresh coffee on your schedule",
        "unique_mechanism": "roasted to order, shipped within 48 hours",
        "brand_voice_adjectives": ["warm", "plain-spoken"],
    },
    "customer_avatar": {
        "pains": ["Coffee tastes flat by day ten"],
        "profile_summary": "Home brewer who cares about taste",
    },
}
ITEMS = [
    {
        "opener": "Your coffee was roasted in March.",
        "follow_up": "Ours was roasted on Tuesday.",
        "angle": "enemy",
        "why_it_works": "names the hidden cause",
    }
]


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    script = [
        ScriptedCompletion(json.dumps({"items": ITEMS})),
        ScriptedCompletion(json.dumps({"items": [{"opener": "only this"}]})),
    ]
    with OpenAIServer(script) as running:
        yield running


async def _student(db: Database) -> str:
    await ensure_course(db)
    user = await Users(db).create("s@example.com", "Sam", "correct horse")
    await Foundations(db).update(user.id, FOUNDATION, by_user_id=user.id)
    return user.id


async def _run(runner: PlaybookRunner, user_id: str, code: str) -> object:
    execution = await runner.start(user_id, code, by=user_id)
    assert execution.status == "Pending"
    await runner.wait(execution.id)
    return await CourseWork(runner.db).execution(user_id, execution.id)


async def test_real_openai_client_runs_a_json_prompt_with_structured_output(
    db: Database, openai_server: OpenAIServer, tmp_path: object
) -> None:
    user_id = await _student(db)
    settings = Settings(
        _env_file=None,
        database_url=db.url,
        openai_base_url=openai_server.base_url,
        openai_api_key="test",
        environment="test",
    )
    bus = InProcessBus()
    runner = PlaybookRunner(db, settings, bus)
    seen: list[dict] = []

    execution = await runner.start(user_id, "H2", by=user_id)
    subscription = await bus.subscribe(f"course-run:{execution.id}", seen.append)
    await runner.wait(execution.id)
    await bus.unsubscribe(subscription)
    done = await CourseWork(db).execution(user_id, execution.id)
    assert done.status == "Success", done.error
    assert done.ai_response == {"items": ITEMS}
    request = openai_server.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    schema = request["response_format"]["json_schema"]["schema"]
    assert "items" in schema["properties"]
    assert "Coffee tastes flat by day ten" in request["messages"][-1]["content"]
    assert seen[-1]["type"] == "end" and seen[-1]["status"] == "Success"
    assert "Your coffee was roasted in March." in "".join(
        e["text"] for e in seen if e["type"] == "delta"
    )

    wrong = await _run(runner, user_id, "H2")  # the second reply lacks required fields
    assert wrong.status == "Error"
    assert wrong.error and wrong.ai_response is None


async def test_offline_draft_is_deterministic_and_built_from_the_snapshot(
    db: Database, tmp_path: object
) -> None:
    user_id = await _student(db)
    settings = Settings(
        _env_file=None,
        database_url=db.url,
        environment="test",
        openai_api_key=None,
        openai_base_url=None,
    )
    runner = PlaybookRunner(db, settings, InProcessBus())
    first = await _run(runner, user_id, "S2")
    second = await _run(runner, user_id, "S2")
    assert first.status == second.status == "Success"
    assert first.ai_response == second.ai_response
    assert "offline draft" in first.ai_response
    assert "Coffee tastes flat by day ten" in first.ai_response
    assert "A coffee subscription roasted to order" in first.ai_response


async def test_an_unreachable_model_ends_the_run_as_error_with_the_reason(db: Database) -> None:
    user_id = await _student(db)
    settings = Settings(
        _env_file=None,
        database_url=db.url,
        environment="test",
        openai_base_url="http://127.0.0.1:9/v1",
        openai_api_key="x",
    )
    runner = PlaybookRunner(db, settings, InProcessBus())
    done = await _run(runner, user_id, "G2")
    assert done.status == "Error"
    assert "Connection" in (done.error or "")
    assert done.ai_response_timestamp is not None


async def test_missing_context_names_every_field_and_stores_no_execution(db: Database) -> None:
    await ensure_course(db)
    user = await Users(db).create("n@example.com", "Nia", "correct horse")
    settings = Settings(_env_file=None, database_url=db.url, environment="test")
    runner = PlaybookRunner(db, settings, InProcessBus())
    with pytest.raises(MissingContext) as raised:
        await runner.start(user.id, "S1")
    assert [m["path"] for m in raised.value.missing] == [
        "company_context.core_offers",
        "company_context.value_proposition",
        "customer_avatar.fears",
    ]
    assert await CourseWork(db).executions(user.id) == []


async def test_render_fills_empty_optional_fields_with_not_provided(db: Database) -> None:
    await ensure_course(db)
    prompt = await PlaybookPrompts(db).by_code("H1")
    text, snapshot = render(prompt.rocket_template, None)
    assert "{" not in text and "(not provided)" in text
    assert set(snapshot) >= {"customer_avatar.pains", "company_context.unique_mechanism"}
    assert all(value is None for value in snapshot.values())


def test_offline_draft_shapes_follow_the_output_type() -> None:
    snapshot = {
        "customer_avatar.pains": ["Coffee tastes flat by day ten"],
        "customer_avatar.goals": ["Great coffee without thinking about it"],
        "company_context.unique_mechanism": "roasted to order",
        "company_context.business_name": "Northfield Roasters",
        "market_awareness.competitors": [{"name": "PodCo", "weakness": "stale pods"}],
    }
    listed = playbook_draft("Hooks", "List", snapshot)
    assert "offline draft" in listed["note"]
    assert 'Still putting up with "Coffee tastes flat by day ten"?' in listed["items"]
    assert "Northfield Roasters: roasted to order." in listed["items"]
    assert any("PodCo (stale pods)" in item for item in listed["items"])
    rows = playbook_draft("Offer", "JSON", snapshot, ["core", "why_it_works"])["items"]
    assert rows and all(set(row) == {"core", "why_it_works"} for row in rows)
    assert all(row["core"] and row["why_it_works"] for row in rows)
    assert playbook_draft("Offer", "JSON", snapshot, ["core"]) == playbook_draft(
        "Offer", "JSON", snapshot, ["core"]
    )
