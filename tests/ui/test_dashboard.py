"""A student imports a CSV of snapshots through the column-mapping step and sees the KPI
dashboard's charts; a staff member sees the course owner's page. Chromium, real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from store import crud
from store.db import Database
from store.elevate import CourseModules
from store.models import User, UserModuleProgress
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import sign_in

pytestmark = pytest.mark.browser

GA4_EXPORT = (
    "Date,Sessions,CTR,Cost per lead,Source\n"
    "2024-04-01,900,2.5%,5.5,google\n"
    "2024-05-01,1100,2.1%,5.0,google\n"
    "2024-06-01,1300,1.4%,4.0,google\n"
)


async def _charts_drawn(page: Any) -> int:
    """Canvases Chart.js drew on (a chart instance is attached to each)."""
    return await page.evaluate(
        "() => [...document.querySelectorAll('.dashboard canvas')]"
        ".filter((c) => window.Chart && window.Chart.getChart(c)).length"
    )


async def test_student_imports_a_csv_and_sees_the_charts(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path, tmp_path: Path
) -> None:
    ada = await client.register("Ada")
    customer = await client.call("POST", "/kpis/customers", ada["token"], json={"name": "Cleo"})
    for step in ("Hook", "Gift"):
        await client.call(
            "POST",
            f"/kpis/customers/{customer['id']}/events",
            ada["token"],
            json={"step": step, "timestamp": "2024-05-01T10:00:00Z"},
        )
    for variant, conversions in (("A", 100), ("B", 130)):
        await client.call(
            "POST",
            "/kpis/ab-tests",
            ada["token"],
            json={"test_name": "headline", "variant": variant, "exposures": 1000,
                  "conversions": conversions},
        )  # fmt: skip
    export = tmp_path / "ga4.csv"
    export.write_text(GA4_EXPORT)

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await sign_in(page, live_server.url, ada)
    await page.get_by_role("link", name="KPIs").click()
    await page.wait_for_timeout(8000)
    print(
        "DEBUG",
        await page.evaluate(
            "() => [typeof window.Chart, document.querySelector('main').innerHTML.slice(0, 300)]"
        ),
    )
    # The first A/B answer may wait for the statistics libraries' first import.
    await expect(page.get_by_role("heading", name="Your KPIs")).to_be_visible(timeout=30_000)
    await expect(page.get_by_text("No snapshots yet: import a CSV")).to_be_visible()

    await page.get_by_label("CSV file").set_input_files(str(export))
    await page.get_by_label("Field for column Date").select_option("snapshot_date")
    await page.get_by_label("Field for column CTR").select_option("hook_avg_ctr")
    await page.get_by_label("Field for column Cost per lead").select_option("gift_cpl")
    await page.get_by_label("Field for column Source").select_option("channel")
    await page.get_by_role("button", name="Import").click()
    await expect(page.get_by_text("Latest snapshot: 2024-06-01")).to_be_visible()

    # Cards with arrows, the weakest step linked to its module, charts with their values.
    ctr = page.locator('.kpi-card[data-metric="hook_avg_ctr"]')
    await expect(ctr).to_contain_text("1.4%")
    await expect(ctr.locator(".change")).to_have_text("▼ 33.3%")
    weakest = page.get_by_role("complementary", name="Weakest step")
    await expect(weakest).to_contain_text("Weakest step: Hook")
    link = weakest.get_by_role("link", name="Open module 1: Hook")
    assert await link.get_attribute("href") == "#/course/module/1"
    trend = page.locator("figure", has_text="Hook CTR").first
    values = await trend.locator("table.chart-values").text_content()
    assert "2024-05-01" in values and "2.1%" in values and "1.4%" in values
    await expect(page.get_by_text("B beats A: 13.0% against 10.0%")).to_be_visible()
    funnel = page.locator("figure", has_text="Customers at each step")
    assert "Hook1100.0%0.0%" in (await funnel.locator("tbody tr").first.text_content()).replace(
        " ", ""
    )
    await page.wait_for_function("() => window.Chart !== undefined")
    assert await _charts_drawn(page) >= 4
    await page.get_by_role("heading", name="Your KPIs").scroll_into_view_if_needed()
    await page.screenshot(path=str(artifacts / "kpi-dashboard.png"), full_page=True)

    # A bad file imports nothing and says which row and column.
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,CTR,Cost per lead,Source\n2024-07-01,2.1,5,google\n")
    await page.get_by_label("CSV file").set_input_files(str(bad))
    await expect(page.get_by_label("Field for column CTR")).to_have_value("hook_avg_ctr")
    await page.get_by_role("button", name="Import").click()
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was imported")
    await expect(page.locator(".problems")).to_contain_text("Row 1, CTR:")

    # Phone width: no sideways scrolling.
    await page.set_viewport_size({"width": 390, "height": 844})
    wide = await page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 390
    await page.screenshot(path=str(artifacts / "kpi-dashboard-phone.png"), full_page=True)
    assert errors == []
    await context.close()


async def test_course_owner_page_renders_for_staff(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    owner = await client.register("Owner")
    student = await client.register("Sam")
    db = Database(live_server.settings.database_url)
    try:
        await crud.update(db, User, owner["id"], is_staff=True)
        module = await CourseModules(db).by_number(1)  # the shipped course, loaded at start
        await crud.insert(
            db, UserModuleProgress(user_id=student["id"], module_id=module.id, status="In Progress")
        )
    finally:
        await db.close()
    await client.call(
        "POST", "/support/tickets", student["token"],
        json={"subject": "Stuck", "message": "?", "module_id": module.id},
    )  # fmt: skip
    await client.call(
        "POST", "/kpis/feedback", student["token"], json={"module_id": module.id, "csat": 5}
    )
    context = await browser.new_context(
        viewport={"width": 1100, "height": 800}, color_scheme="dark"
    )
    page = await context.new_page()
    await sign_in(page, live_server.url, owner)
    await page.get_by_role("link", name="Course analytics").click()
    await expect(page.get_by_role("heading", name="Course analytics")).to_be_visible()
    await expect(page.get_by_text("Students: 1")).to_be_visible()
    completion = page.locator("figure", has_text="Module completion").locator("tbody")
    rows = [r.replace(" ", "") for r in await completion.locator("tr").all_text_contents()]
    assert len(rows) == 10 and rows[1] == "1.Hook100.0%100.0%"
    assert rows[0] == "0.Foundation000.0%n/a"
    table = page.locator("figure", has_text="Ratings and open tickets").locator("tbody")
    hook = await table.locator("tr", has_text="Hook").text_content()
    assert hook.replace(" ", "").startswith("1.Hook1100.0n/a1")
    await page.wait_for_function("() => window.Chart !== undefined")
    assert await _charts_drawn(page) == 2
    await page.screenshot(path=str(artifacts / "course-analytics-dark.png"), full_page=True)
    await context.close()

    # A student has no such link, and the page refuses them.
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, live_server.url, student)
    await expect(page.get_by_role("link", name="Course analytics")).to_have_count(0)
    await page.goto(f"{live_server.url}/#/course-analytics")
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await context.close()
