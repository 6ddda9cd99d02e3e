"""KPI data in over REST and CSV: snapshots, customers, journey events, feedback, tickets,
A/B results. A bad CSV row rejects the whole file and names row, column and reason."""

from __future__ import annotations

import json

from tests.server.live import Api, User

SNAPSHOTS_CSV = (
    "snapshot_date,time_period,hook_avg_ctr,gift_cpl,channel\n"
    "2024-05-01,month,0.021,4.5,ads\n"
    "1717200000000,month,1.4%,5.5,ads\n"
)


async def upload(
    api: Api, user: User, path: str, text: str, mapping: dict | None = None
) -> tuple[int, dict]:
    data = {"mapping": json.dumps(mapping)} if mapping is not None else {}
    response = await api.call(
        "POST", path, user, files={"file": ("export.csv", text.encode(), "text/csv")}, data=data
    )
    return response.status_code, response.json()


async def test_snapshot_by_rest_accepts_iso_and_epoch_ms_and_answers_iso(api: Api) -> None:
    ada = await api.register("Ada")
    first = await api.ok(
        "POST",
        "/api/kpis/snapshots",
        ada,
        json={"snapshot_date": "2024-05-01T00:00:00Z", "hook_avg_ctr": 0.021, "channel": "ads"},
    )
    await api.ok(
        "POST", "/api/kpis/snapshots", ada, json={"snapshot_date": 1717200000000, "gift_cpl": 5}
    )
    assert first["snapshot_date"].startswith("2024-05-01T00:00:00")
    rows = await api.ok("GET", "/api/kpis/snapshots", ada)
    assert [r["snapshot_date"][:10] for r in rows] == ["2024-05-01", "2024-06-01"]
    assert [r["id"] for r in await api.ok("GET", "/api/kpis/snapshots?channel=ads", ada)] == [
        first["id"]
    ]
    june = await api.ok("GET", "/api/kpis/snapshots?from=2024-05-15&to=1719000000000", ada)
    assert [r["snapshot_date"][:10] for r in june] == ["2024-06-01"]


async def test_snapshot_field_errors_are_422_naming_the_field(api: Api) -> None:
    ada = await api.register("Ada")
    for body, field in [
        ({"snapshot_date": "2024-05-01", "hook_avg_ctr": 2.1}, "hook_avg_ctr"),
        ({"snapshot_date": "yesterday"}, "snapshot_date"),
        ({"snapshot_date": "2024-05-01", "gift_cpl": -1}, "gift_cpl"),
        ({"snapshot_date": "2024-05-01", "hook_avg_ctr": "high"}, "hook_avg_ctr"),
    ]:
        response = await api.call("POST", "/api/kpis/snapshots", ada, json=body)
        assert response.status_code == 422, body
        assert response.json()["details"][0]["loc"][-1] == field
    response = await api.call("GET", "/api/kpis/snapshots?from=soon", ada)
    assert response.status_code == 422 and response.json()["details"][0]["loc"] == [
        "query",
        "from",
    ]
    assert await api.ok("GET", "/api/kpis/snapshots", ada) == []


async def test_csv_import_with_field_names(api: Api) -> None:
    ada = await api.register("Ada")
    status, body = await upload(api, ada, "/api/kpis/snapshots/import", SNAPSHOTS_CSV)
    assert status == 200, body
    assert body["imported"] == 2 and body["ignored_columns"] == []
    rows = await api.ok("GET", "/api/kpis/snapshots", ada)
    assert [r["hook_avg_ctr"] for r in rows] == [0.021, 0.014]
    assert rows[1]["snapshot_date"].startswith("2024-06-01T00:00:00")


async def test_csv_with_one_bad_row_imports_nothing_and_names_it(api: Api) -> None:
    ada = await api.register("Ada")
    text = SNAPSHOTS_CSV + "2024-07-01,month,2.1,5,ads\n2024-08-01,month,0.02,cheap,ads\n"
    status, body = await upload(api, ada, "/api/kpis/snapshots/import", text)
    assert status == 422 and body["code"] == "invalid_csv"
    assert [(e["row"], e["column"]) for e in body["details"]] == [
        (3, "hook_avg_ctr"),
        (4, "gift_cpl"),
    ]
    assert "fraction" in body["details"][0]["reason"]
    assert "not a number" in body["details"][1]["reason"]
    assert await api.ok("GET", "/api/kpis/snapshots", ada) == []


async def test_a_confirmed_mapping_is_remembered_per_student(api: Api) -> None:
    ada, bob = await api.register("Ada"), await api.register("Bob")
    ga4 = "Date,Sessions,CTR,Source\n20240501,1200,2.1%,google\n"
    status, body = await upload(api, ada, "/api/kpis/snapshots/import", ga4)
    assert status == 422 and body["details"][0] == {
        "row": 0,
        "column": "snapshot_date",
        "reason": "no column maps to this required field",
    }
    mapping = {"Date": "snapshot_date", "CTR": "hook_avg_ctr", "Source": "channel"}
    status, body = await upload(api, ada, "/api/kpis/snapshots/import", ga4, mapping)
    assert status == 200 and body["ignored_columns"] == ["Sessions"]
    # The next export of the same shape needs no mapping; Bob's does.
    status, body = await upload(api, ada, "/api/kpis/snapshots/import", ga4)
    assert status == 200 and body["imported"] == 1
    remembered = await api.ok("GET", "/api/kpis/imports/snapshots/mapping", ada)
    assert remembered["mapping"] == mapping and "hook_avg_ctr" in remembered["fields"]
    status, _ = await upload(api, bob, "/api/kpis/snapshots/import", ga4)
    assert status == 422
    rows = await api.ok("GET", "/api/kpis/snapshots", ada)
    assert [(r["hook_avg_ctr"], r["channel"]) for r in rows] == [(0.021, "google")] * 2
    status, body = await upload(
        api, ada, "/api/kpis/snapshots/import", ga4, {"CTR": "no_such_field"}
    )
    assert status == 422 and body["details"][0]["column"] == "CTR"


async def test_customers_and_events_by_rest_and_csv(api: Api) -> None:
    ada, bob = await api.register("Ada"), await api.register("Bob")
    cleo = await api.ok(
        "POST", "/api/kpis/customers", ada, json={"name": "Cleo", "email": "c@x.io", "tags": ["a"]}
    )
    event = await api.ok(
        "POST",
        f"/api/kpis/customers/{cleo['id']}/events",
        ada,
        json={"step": "Hook", "channel": "ads", "timestamp": 1714521600000},
    )
    assert event["timestamp"].startswith("2024-05-01T00:00:00")
    response = await api.call(
        "POST", f"/api/kpis/customers/{cleo['id']}/events", ada, json={"step": "Nope"}
    )
    assert response.status_code == 422
    # Bob can neither log events against Ada's customer nor read them.
    response = await api.call(
        "POST",
        f"/api/kpis/customers/{cleo['id']}/events",
        bob,
        json={"step": "Hook", "timestamp": "2024-05-01"},
    )
    assert response.status_code == 404
    response = await api.call("GET", f"/api/kpis/customers/{cleo['id']}/events", bob)
    assert response.status_code == 404

    status, body = await upload(
        api, ada, "/api/kpis/customers/import", "name,email,segment\nDan,d@x.io,vip\n"
    )
    assert status == 200 and body["imported"] == 1
    events = "email,step,when\nd@x.io,gift,2024-05-02\nc@x.io,Sell,2024-05-03\n"
    mapping = {"email": "customer_email", "when": "timestamp"}
    status, body = await upload(api, ada, "/api/kpis/events/import", events, mapping)
    assert status == 200 and body["imported"] == 2
    listed = await api.ok("GET", f"/api/kpis/customers/{cleo['id']}/events", ada)
    steps = [e["step"] for e in listed]
    assert steps == ["Hook", "Sell"]
    # The funnel sees the imported events at once: Cleo's Sell came from the file.
    funnel = await api.ok("GET", "/api/kpis/journeys?steps=Hook,Sell", ada)
    assert [s["customers"] for s in funnel] == [1, 1]
    # An e-mail of someone else's customer is unknown here: the whole file is refused.
    status, body = await upload(
        api, bob, "/api/kpis/events/import", "email,step,when\nc@x.io,Hook,2024-05-02\n", mapping
    )
    assert status == 422 and body["details"][0]["row"] == 1
    assert body["details"][0]["column"] == "email"


async def test_feedback_tickets_and_ab_results(api: Api) -> None:
    ada, bob = await api.register("Ada"), await api.register("Bob")
    response = await api.call("POST", "/api/kpis/feedback", ada, json={"csat": 6})
    assert response.status_code == 422 and response.json()["details"][0]["loc"][-1] == "csat"
    await api.ok("POST", "/api/kpis/feedback", ada, json={"csat": 5, "nps": 9, "feedback": "ok"})

    ticket = await api.ok(
        "POST", "/api/support/tickets", ada, json={"subject": "Stuck", "message": "Help"}
    )
    assert ticket["status"] == "open"
    response = await api.call(
        "PATCH", f"/api/support/tickets/{ticket['id']}", bob, json={"status": "closed"}
    )
    assert response.status_code == 404
    response = await api.call(
        "PATCH", f"/api/support/tickets/{ticket['id']}", ada, json={"status": "pending"}
    )
    assert response.status_code == 422
    closed = await api.ok(
        "PATCH", f"/api/support/tickets/{ticket['id']}", ada, json={"status": "closed"}
    )
    assert closed["status"] == "closed"
    assert [t["id"] for t in await api.ok("GET", "/api/support/tickets?status=closed", ada)] == [
        ticket["id"]
    ]
    assert await api.ok("GET", "/api/support/tickets", bob) == []

    body = {"test_name": "headline", "variant": "A", "exposures": 100, "conversions": 10}
    first = await api.ok("POST", "/api/kpis/ab-tests", ada, json=body)
    again = await api.ok("POST", "/api/kpis/ab-tests", ada, json={**body, "conversions": 12})
    assert again["id"] == first["id"] and again["conversions"] == 12
    response = await api.call("POST", "/api/kpis/ab-tests", ada, json={**body, "conversions": 101})
    assert response.status_code == 422
    assert response.json()["details"][0]["loc"][-1] == "conversions"
    assert await api.ok("GET", "/api/kpis/ab-tests", ada) == ["headline"]
