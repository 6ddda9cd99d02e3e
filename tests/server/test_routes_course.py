"""The course REST API against a live server: modules, Foundation, runs, assets, progress,
activity, and staff-only course admin."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from store.users import Users
from tests.server.live import Api, LiveServer, User

HOOK_FOUNDATION = {
    "company_context": {
        "business_name": "Northfield Roasters",
        "unique_mechanism": "roasted to order and shipped within 48 hours",
        "brand_voice_adjectives": ["warm", "plain-spoken"],
    },
    "customer_avatar": {"pains": ["Coffee tastes flat by day ten", "I forget to reorder"]},
}


async def _staff(api: Api, server: LiveServer) -> User:
    users = Users(server.services.db)
    row = await users.create("owner@example.com", "Owner", "correct horse", is_staff=True)
    issued = await users.issue_token(row.id, 3600)
    return User(row.id, "Owner", row.email, issued.token)


async def _module(api: Api, user: User, step: str) -> dict[str, Any]:
    modules = await api.ok("GET", "/api/course/modules", user)
    summary = next(m for m in modules if m["step"] == step)
    return await api.ok("GET", f"/api/course/modules/{summary['id']}", user)


async def _finished(api: Api, user: User, execution_id: str) -> dict[str, Any]:
    response = await api.call("GET", f"/api/course/executions/{execution_id}/stream", user)
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert lines[-1]["type"] == "end"
    return {"lines": lines, "execution": lines[-1]["execution"]}


async def test_modules_are_listed_in_order_with_the_callers_status(api: Api) -> None:
    alice = await api.register("Alice")
    modules = await api.ok("GET", "/api/course/modules", alice)
    assert [m["module_number"] for m in modules] == list(range(10))
    assert modules[1]["step"] == "Hook" and modules[1]["status"] == "Not Started"
    assert all(m["agent_id"] for m in modules)
    hook = await _module(api, alice, "Hook")
    assert len(hook["playbook_prompts"]) >= 3
    assert hook["progress"] == {
        "status": "Not Started",
        "notes": None,
        "checked": [],
        "completed_at": None,
    }
    again = await _module(api, alice, "Hook")
    assert hook["conversation_id"] and again["conversation_id"] == hook["conversation_id"]
    bob = await api.register("Bob")
    assert (await _module(api, bob, "Hook"))["conversation_id"] != hook["conversation_id"]


async def test_foundation_wrong_type_is_422_naming_the_field_and_edits_are_versioned(
    api: Api,
) -> None:
    alice = await api.register("Alice")
    empty = await api.ok("GET", "/api/course/foundation", alice)
    assert empty["customer_avatar"] == {} and empty["version"] == 0
    response = await api.call(
        "PATCH", "/api/course/foundation", alice, json={"customer_avatar": {"pains": "x"}}
    )
    assert response.status_code == 422
    assert response.json()["details"]["field"] == "customer_avatar.pains"
    response = await api.call(
        "PATCH", "/api/course/foundation", alice, json={"customer_avatar": {"painz": ["x"]}}
    )
    assert response.status_code == 422
    assert response.json()["details"]["field"] == "customer_avatar.painz"

    await api.ok("PATCH", "/api/course/foundation", alice, json=HOOK_FOUNDATION)
    body = await api.ok(
        "PATCH", "/api/course/foundation", alice, json={"customer_avatar": {"pains": ["Stale"]}}
    )
    assert body["version"] == 2
    assert body["company_context"]["business_name"] == "Northfield Roasters"  # merged
    assert body["completeness"]["sections"]["customer_avatar"] > 0
    history = await api.ok("GET", "/api/course/foundation/history", alice)
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["changes"] == [
        {
            "path": "customer_avatar.pains",
            "label": "Customer pains",
            "old": HOOK_FOUNDATION["customer_avatar"]["pains"],
            "new": ["Stale"],
        }
    ]
    assert history[0]["changed_by_user_id"] == alice.id
    bob = await api.register("Bob")
    assert await api.ok("GET", "/api/course/foundation/history", bob) == []


async def test_missing_context_names_every_field_and_stores_nothing(api: Api) -> None:
    alice = await api.register("Alice")
    await api.ok(
        "PATCH",
        "/api/course/foundation",
        alice,
        json={"company_context": {"brand_voice_adjectives": ["warm"]}},
    )
    response = await api.call("POST", "/api/course/prompts/H1/run", alice, json={})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "missing_context"
    assert body["missing"] == [
        {"path": "customer_avatar.pains", "label": "Customer pains"},
        {"path": "company_context.unique_mechanism", "label": "Unique mechanism"},
    ]
    assert "Customer pains" in body["message"]
    assert await api.ok("GET", "/api/course/executions", alice) == []
    hook = await _module(api, alice, "Hook")
    assert hook["progress"]["status"] == "Not Started"


async def test_a_run_stores_pending_then_success_with_the_exact_snapshot(api: Api) -> None:
    alice = await api.register("Alice")
    await api.ok("PATCH", "/api/course/foundation", alice, json=HOOK_FOUNDATION)
    accepted = await api.call("POST", "/api/course/prompts/H1/run", alice, json={})
    assert accepted.status_code == 202, accepted.text
    execution = accepted.json()["execution"]
    assert execution["status"] == "Pending"
    assert "Coffee tastes flat by day ten; I forget to reorder" in execution["rendered_prompt"]
    assert "Competitors and their weaknesses: (not provided)" in execution["rendered_prompt"]
    assert "{" not in execution["rendered_prompt"].split("Context:")[1].split("Tone:")[0]
    snapshot = execution["input_context_snapshot"]
    assert snapshot["customer_avatar.pains"] == HOOK_FOUNDATION["customer_avatar"]["pains"]
    assert snapshot["market_awareness.competitors"] is None

    finished = await _finished(api, alice, execution["id"])
    done = finished["execution"]
    assert done["status"] == "Success"
    assert "offline draft" in done["ai_response"]["note"]
    assert any("Coffee tastes flat by day ten" in item for item in done["ai_response"]["items"])
    await api.ok(
        "PATCH", "/api/course/foundation", alice, json={"customer_avatar": {"pains": ["New"]}}
    )
    stored = await api.ok("GET", f"/api/course/executions/{execution['id']}", alice)
    assert stored["input_context_snapshot"] == snapshot  # a later edit does not change it
    assert stored["ai_response_timestamp"]
    bob = await api.register("Bob")
    assert (
        await api.call("GET", f"/api/course/executions/{execution['id']}", bob)
    ).status_code == 404


async def test_assets_progress_checklist_and_activity_follow_each_action(api: Api) -> None:
    alice = await api.register("Alice")
    await api.ok("PATCH", "/api/course/foundation", alice, json=HOOK_FOUNDATION)
    hook = await _module(api, alice, "Hook")
    run = await api.ok("POST", "/api/course/prompts/H3/run", alice, json={})
    await _finished(api, alice, run["execution"]["id"])
    assert (await _module(api, alice, "Hook"))["progress"]["status"] == "In Progress"

    asset = await api.ok(
        "POST",
        "/api/course/assets",
        alice,
        json={
            "elevate_step": "Hook",
            "asset_type": "Subject line",
            "content": "The 48-hour rule",
            "channel": "Email",
            "prompt_execution_id": run["execution"]["id"],
        },
    )
    assert asset["status"] == "Draft"
    response = await api.call(
        "POST",
        "/api/course/assets",
        alice,
        json={"elevate_step": "Hook", "asset_type": "X", "content": "y", "status": "Done"},
    )
    assert response.status_code == 422
    archived = await api.ok(
        "PATCH", f"/api/course/assets/{asset['id']}", alice, json={"status": "Archived"}
    )
    assert archived["status"] == "Archived"
    assert [a["id"] for a in await api.ok("GET", "/api/course/assets?step=Hook", alice)] == [
        asset["id"]
    ]
    bob = await api.register("Bob")
    response = await api.call(
        "PATCH", f"/api/course/assets/{asset['id']}", bob, json={"content": "mine now"}
    )
    assert response.status_code == 404

    ticked = await api.ok(
        "PUT", f"/api/course/modules/{hook['id']}/checklist/1", alice, json={"done": True}
    )
    assert ticked["checked"] == [1]
    response = await api.call(
        "PUT", f"/api/course/modules/{hook['id']}/checklist/99", alice, json={"done": True}
    )
    assert response.status_code == 422
    gift = await _module(api, alice, "Gift")
    await api.ok(
        "PUT", f"/api/course/modules/{gift['id']}/progress", alice, json={"notes": "later"}
    )
    done = await api.ok(
        "PUT", f"/api/course/modules/{hook['id']}/progress", alice, json={"status": "Completed"}
    )
    assert done["status"] == "Completed" and done["completed_at"]
    modules = await api.ok("GET", "/api/course/modules", alice)
    assert modules[1]["status"] == "Completed" and modules[1]["completed_checklist"] == 1
    overview = await api.ok("GET", "/api/course/overview", alice)
    assert overview["completion_percent"] == 10.0
    assert overview["continue_module_id"] == gift["id"]

    activity = await api.ok("GET", "/api/course/activity", alice)
    kinds = [a["action_type"] for a in activity]
    assert kinds[0] == "module_status_changed" and activity[0]["details"]["to"] == "Completed"
    for kind in (
        "foundation_updated",
        "prompt_run",
        "asset_created",
        "asset_archived",
        "checklist_ticked",
        "module_notes_saved",
    ):
        assert kind in kinds, kind
    # The first Foundation edit is also the first action in module 0.
    assert [a["action_type"] for a in activity[-2:]] == [
        "foundation_updated",
        "module_status_changed",
    ]
    refs = {a["action_type"]: a["action_ref"] for a in activity}
    assert refs["prompt_run"] == run["execution"]["id"] and refs["asset_created"] == asset["id"]
    assert await api.ok("GET", "/api/course/activity", bob) == []


async def test_students_get_403_on_course_admin_staff_may_edit(
    api: Api, server: LiveServer
) -> None:
    alice = await api.register("Alice")
    owner = await _staff(api, server)
    hook = await _module(api, alice, "Hook")
    prompt = {
        "prompt_code": "H9",
        "step": "Hook",
        "title": "Ten more hooks",
        "description": "More.",
        "rocket_template": "Role: r\nObjective: o {customer_avatar.pains}\nContext: c\n"
        "Key constraints: k\nExamples: e\nTone: t",
        "required_context": ["customer_avatar.pains"],
        "output_type": "List",
    }
    for method, path, body in (
        ("POST", "/api/course/prompts", prompt),
        ("PATCH", "/api/course/prompts/H1", {"title": "Mine"}),
        ("PATCH", f"/api/course/modules/{hook['id']}", {"title": "Mine"}),
        (
            "POST",
            "/api/course/modules",
            {"module_number": 10, "step": "Share", "title": "X", "objective": "Y"},
        ),
    ):
        response = await api.call(method, path, alice, json=body)
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "forbidden"

    created = await api.ok("POST", "/api/course/prompts", owner, json=prompt)
    assert created["required_context"] == [
        {"path": "customer_avatar.pains", "label": "Customer pains", "filled": None}
    ]
    bad = {
        **prompt,
        "prompt_code": "H8",
        "rocket_template": prompt["rocket_template"].replace(
            "{customer_avatar.pains}", "{customer_avatar.pain}"
        ),
    }
    response = await api.call("POST", "/api/course/prompts", owner, json=bad)
    assert response.status_code == 422 and "customer_avatar.pain" in response.json()["message"]
    await api.ok("PATCH", f"/api/course/modules/{hook['id']}", owner, json={"title": "Hooks!"})
    assert (await _module(api, alice, "Hook"))["title"] == "Hooks!"
    listed = await api.ok("GET", "/api/course/prompts?step=Hook", alice)
    assert [p["prompt_code"] for p in listed] == ["H1", "H2", "H3", "H9"]
    response = await api.call("GET", "/api/course/prompts?step=Nope", alice)
    assert response.status_code == 422


async def test_a_step_agent_turn_in_the_module_conversation_updates_the_foundation(
    api: Api,
) -> None:
    alice = await api.register("Alice")
    foundation = await _module(api, alice, "Foundation")
    room = foundation["conversation_id"]
    changes = {"changes": {"company_context.core_offers": "Coffee subscription"}}
    await api.ok(
        "POST",
        f"/api/conversations/{room}/messages",
        alice,
        json={"client_msg_id": "m1", "content": "/tool update_foundation " + json.dumps(changes)},
    )
    history: list[dict[str, Any]] = []
    for _ in range(300):
        history = await api.ok("GET", "/api/course/foundation/history", alice)
        if history:
            break
        await asyncio.sleep(0.05)
    assert history and history[0]["changed_by_agent_id"] == foundation["agent_id"]
    assert history[0]["changes"][0]["new"] == "Coffee subscription"
    activity = await api.ok("GET", "/api/course/activity", alice)
    assert activity[0]["action_type"] == "foundation_updated"
