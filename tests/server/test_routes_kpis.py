"""The KPI REST contract (DESIGN section 11) over a live server: shapes, CSV exports, access."""

from __future__ import annotations

import csv
import io

import pytest

from store import crud
from store.models import User as UserRow
from tests.server.live import Api, User


async def _staff(api: Api) -> User:
    staff = await api.register("Owner")
    await crud.update(api.server.services.db, UserRow, staff.id, is_staff=True)
    return staff


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def _fill(api: Api, user: User) -> None:
    for date, ctr in [("2024-05-01", 0.021), ("2024-06-01", 0.014)]:
        await api.ok(
            "POST", "/api/kpis/snapshots", user, json={"snapshot_date": date, "hook_avg_ctr": ctr}
        )


async def test_summary_targets_and_weakest_step(api: Api) -> None:
    ada, bob = await api.register("Ada"), await api.register("Bob")
    await _fill(api, ada)
    body = await api.ok("GET", "/api/kpis/summary", ada)
    assert set(body) >= {"attract", "convert", "grow", "overall", "derived", "weakest_step"}
    hook = body["attract"]["hook_avg_ctr"]
    assert (hook["value"], hook["previous"], hook["target"]) == (0.014, 0.021, 0.02)
    assert hook["change"] == pytest.approx(-1 / 3)
    assert body["weakest_step"]["step"] == "Hook"
    assert body["period"]["latest"]["snapshot_date"].startswith("2024-06-01T")
    # Bob sees none of Ada's numbers.
    bobs = await api.ok("GET", "/api/kpis/summary", bob)
    assert bobs["attract"]["hook_avg_ctr"]["value"] is None and bobs["weakest_step"] is None

    targets = await api.ok("PUT", "/api/kpis/targets", ada, json={"hook_avg_ctr": 0.01})
    assert targets["hook_avg_ctr"] == 0.01 and targets["gift_cpl"] == 5.0
    assert (await api.ok("GET", "/api/kpis/targets", bob))["hook_avg_ctr"] == 0.02
    assert (await api.ok("GET", "/api/kpis/summary", ada))["weakest_step"] is None
    for body, field in [({"hook_ctr": 1}, "hook_ctr"), ({"hook_avg_ctr": 3}, "hook_avg_ctr")]:
        response = await api.call("PUT", "/api/kpis/targets", ada, json=body)
        assert response.status_code == 422 and response.json()["details"][0]["loc"][-1] == field
    response = await api.call("GET", "/api/kpis/summary?to=never", ada)
    assert response.status_code == 422


async def test_journeys_feedback_and_ab_test_over_rest(api: Api) -> None:
    ada, bob = await api.register("Ada"), await api.register("Bob")
    for name, steps in [("a", ["Hook", "Gift"]), ("b", ["Hook"])]:
        customer = await api.ok("POST", "/api/kpis/customers", ada, json={"name": name})
        for step in steps:
            await api.ok(
                "POST",
                f"/api/kpis/customers/{customer['id']}/events",
                ada,
                json={"step": step, "timestamp": "2024-05-01T10:00:00+02:00"},
            )
    funnel = await api.ok("GET", "/api/kpis/journeys?steps=Hook,Gift", ada)
    assert [(s["step"], s["customers"], s["conversion"]) for s in funnel] == [
        ("Hook", 2, 1),
        ("Gift", 1, 0.5),
    ]
    assert funnel[1]["drop_off"] == 0.5
    assert len(await api.ok("GET", "/api/kpis/journeys", ada)) == 9
    assert [s["customers"] for s in await api.ok("GET", "/api/kpis/journeys", bob)] == [0] * 9
    for query in ("steps=Hook,Hook", "steps=Hook,Checkout"):
        response = await api.call("GET", f"/api/kpis/journeys?{query}", ada)
        assert response.status_code == 422
        assert response.json()["details"][0]["loc"] == ["query", "steps"]

    for csat, nps in [(5, 10), (2, 3)]:
        await api.ok("POST", "/api/kpis/feedback", ada, json={"csat": csat, "nps": nps})
    scores = await api.ok("GET", "/api/kpis/feedback", ada)
    assert (scores["responses"], scores["csat"], scores["nps"]) == (2, 50.0, 0.0)
    assert (scores["promoters"], scores["passives"], scores["detractors"]) == (1, 0, 1)

    for variant, conversions in [("A", 100), ("B", 130)]:
        await api.ok(
            "POST",
            "/api/kpis/ab-tests",
            ada,
            json={
                "test_name": "headline",
                "variant": variant,
                "exposures": 1000,
                "conversions": conversions,
            },
        )
    test = await api.ok("GET", "/api/kpis/ab-tests/headline", ada)
    assert test["control"] == "A" and [v["variant"] for v in test["variants"]] == ["A", "B"]
    assert test["variants"][1]["significant"] is True and "beats" in test["verdict"]
    assert set(test["variants"][1]) >= {
        "variant", "exposures", "conversions", "rate", "lift", "z", "p_value", "ci_low",
        "ci_high", "significant",
    }  # fmt: skip
    response = await api.call("GET", "/api/kpis/ab-tests/headline", bob)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_every_kpi_table_exports_as_csv(api: Api) -> None:
    ada = await api.register("Ada")
    staff = await _staff(api)
    await _fill(api, ada)
    await api.ok(
        "POST",
        "/api/kpis/ab-tests",
        ada,
        json={"test_name": "t", "variant": "A", "exposures": 10, "conversions": 1},
    )
    exports = {
        "/api/kpis/snapshots?format=csv": ("hook_avg_ctr", 2),
        "/api/kpis/summary?format=csv": ("change", 21),
        "/api/kpis/journeys?format=csv": ("drop_off", 9),
        "/api/kpis/feedback?format=csv": ("nps", 1),
        "/api/kpis/feedback/modules?format=csv": ("module_id", 0),
        "/api/kpis/ab-tests/t?format=csv": ("p_value", 1),
        "/api/kpis/usage?format=csv": ("input_tokens", 0),
        "/api/kpis/usage?format=csv&table=agents": ("agent_id", 0),
    }
    for path, (column, count) in exports.items():
        response = await api.call("GET", path, ada)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/csv")
        reader = csv.DictReader(io.StringIO(response.text))
        assert column in (reader.fieldnames or []), path
        assert len(list(reader)) == count, path
    summary = _csv((await api.call("GET", "/api/kpis/summary?format=csv", ada)).text)
    hook = next(r for r in summary if r["metric"] == "hook_avg_ctr")
    assert (hook["phase"], hook["value"], hook["previous"]) == ("attract", "0.014", "0.021")
    response = await api.call("GET", "/api/course/analytics?format=csv", staff)
    assert response.status_code == 200
    assert "completion_rate" in (csv.DictReader(io.StringIO(response.text)).fieldnames or [])


async def test_course_analytics_is_for_staff_only(api: Api) -> None:
    ada = await api.register("Ada")
    response = await api.call("GET", "/api/course/analytics", ada)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    staff = await _staff(api)
    body = await api.ok("GET", "/api/course/analytics", staff)
    assert body["students"] == 1 and isinstance(body["modules"], list)
    response = await api.call("GET", "/api/course/analytics")
    assert response.status_code == 401


async def test_usage_shape_for_the_caller(api: Api) -> None:
    ada = await api.register("Ada")
    body = await api.ok("GET", "/api/kpis/usage?from=2024-01-01&to=1893456000000", ada)
    assert body == {"days": [], "agents": []}
