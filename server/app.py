"""The FastAPI application: `create_app(settings)`; nothing connects until the lifespan runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from runtime.errors import ElevateRuntimeError
from runtime.settings import Settings
from server import auth, errors, observability
from server.log_redaction import install_redaction
from server.routes import agents, conversations, course, groups, prompts, status, tools, users
from server.routes import mcp as mcp_routes
from server.routes.kpi_routers import ROUTERS as KPI_ROUTERS
from server.routes.message_edits import router as message_edits_router
from server.routes.message_tabs import router as message_tabs_router
from server.routes.notifications import router as notifications_router
from server.routes.profile import router as profile_router
from server.routes.regenerate import router as regenerate_router
from server.routes.rooms import router as rooms_router
from server.routes.search import router as search_router
from server.routes.status import product_version
from server.routes.uploads import router as uploads_router
from server.routes.usage import router as usage_router
from server.security_headers import SecurityHeaders
from server.services import open_services
from server.url_guard import RejectNul
from server.ws import endpoint
from store import ab_stats
from tools.errors import ToolsError

STATIC = Path(__file__).parent / "static"
PLACEHOLDER = "<!doctype html><title>Elevate</title><p>The chat page is not installed.</p>"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole server: REST under /api, the websocket at /ws, the chat page at /."""
    settings = settings or Settings()
    install_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings) as services:
            app.state.services = services
            observability.watch(services)
            asyncio.get_running_loop().run_in_executor(None, ab_stats.warm)
            yield
        observability.flush()

    app = FastAPI(
        title="Elevate",
        version=product_version(),
        description="Multi-agent conversation runtime: REST API (the websocket is at /ws).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(SecurityHeaders)
    errors.install(app, ElevateRuntimeError, ToolsError)
    app.add_middleware(RejectNul)
    for module in (auth, users, agents, tools, groups, prompts, conversations, status):
        app.include_router(module.router)
    app.include_router(course.router)
    app.include_router(usage_router)
    app.include_router(uploads_router)
    app.include_router(profile_router)
    for router in (message_edits_router, regenerate_router, search_router):
        app.include_router(router)
    app.include_router(rooms_router)
    app.include_router(notifications_router)
    app.include_router(mcp_routes.router)
    for router in KPI_ROUTERS:
        app.include_router(router)
    app.include_router(message_tabs_router)
    app.include_router(endpoint.router)

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC / "index.html"
        return FileResponse(page) if page.is_file() else HTMLResponse(PLACEHOLDER)

    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    observability.install(app, settings)
    return app
