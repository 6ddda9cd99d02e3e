"""`GET /metrics`: this process's Prometheus metrics (`runtime.metrics`), when enabled.

Off by default (404). `ELEVATE_METRICS_TOKEN` makes it answer only a scraper that sends
`Authorization: Bearer <token>` (401 otherwise); `ELEVATE_METRICS_ENABLED=true` without a token
serves it to anyone who can reach the port, for a scraper on a private network. The queued
triggers gauge is read from the database, at most once every few seconds whatever the scrape
rate.
"""

from __future__ import annotations

import hmac
import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from runtime.metrics import QUEUED_TRIGGERS, REGISTRY
from runtime.settings import Settings
from server.errors import ApiError
from store.trigger_stats import owed_conversations

log = logging.getLogger(__name__)
router = APIRouter()
# Scrapes closer together than this reuse the last database count.
COUNT_EVERY_SECONDS = 5.0
_counted = {"at": float("-inf")}


def check_access(settings: Settings, authorization: str | None) -> None:
    """Raise the refusal for this request, if any (see the module docstring)."""
    token = settings.metrics_token
    if token is None:
        if not settings.metrics_enabled:
            raise ApiError(
                404,
                "not_found",
                "metrics are off; set ELEVATE_METRICS_TOKEN (or ELEVATE_METRICS_ENABLED)",
            )
        return
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise ApiError(
            401,
            "unauthenticated",
            "metrics need `Authorization: Bearer <ELEVATE_METRICS_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    check_access(request.app.state.settings, request.headers.get("authorization"))
    await _count_queued(request)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def _count_queued(request: Request) -> None:
    now = time.monotonic()
    if now - _counted["at"] < COUNT_EVERY_SECONDS:
        return
    _counted["at"] = now
    try:
        QUEUED_TRIGGERS.set(await owed_conversations(request.app.state.services.db))
    except Exception:
        # The metrics still answer (the database error is counted); the gauge keeps its value.
        log.warning("counting queued triggers for /metrics failed", exc_info=True)
