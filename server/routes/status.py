"""What the UI needs before signing in: version, offline model, backends; and a health check."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from server.deps import ServicesDep

router = APIRouter(prefix="/api", tags=["status"])


def product_version() -> str:
    try:
        return version("elevate-runtime")
    except PackageNotFoundError:
        return "0.0.0+unknown"


@router.get("/status")
async def status(services: ServicesDep) -> dict[str, Any]:
    settings = services.settings
    return {
        "version": product_version(),
        "protocol": 1,
        "offline": settings.offline,
        "backends": {
            "database": "sqlite" if services.db.is_sqlite else "postgresql",
            "bus": "redis" if settings.redis_url else "in-process",
        },
    }


@router.get("/health")
async def health(services: ServicesDep) -> dict[str, Any]:
    """200 when the database answers: what a load balancer polls."""
    async with services.db.session() as session:
        await session.execute(text("SELECT 1"))
    return {"ok": True}
