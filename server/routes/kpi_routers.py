"""The KPI, support and course-analytics routers, for the app to include in one line."""

from __future__ import annotations

from server.routes import course_analytics, kpi_data, kpis, support

ROUTERS = (kpi_data.router, kpis.router, support.router, course_analytics.router)
