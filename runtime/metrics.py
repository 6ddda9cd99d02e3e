"""Prometheus metrics of this process: turns, latencies, tool calls, sockets, triggers, errors.

The metrics live in their own `CollectorRegistry` (`REGISTRY`), not the client's global one, so
that what `/metrics` shows is exactly this list. They are counted whether or not `/metrics` is
served: an increment is a lock and an addition. Label values are bounded sets (turn statuses,
tool outcome statuses, registered tool names, bus operations), never ids.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
# Turns last from milliseconds (a scripted reply) to minutes (tools waiting for a person).
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
FIRST_TOKEN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

TURNS_STARTED = Counter(
    "elevate_turns_started",
    "Agent turns started (delegated turns included).",
    ["kind"],
    registry=REGISTRY,
)
TURNS_FINISHED = Counter(
    "elevate_turns_finished",
    "Agent turns ended, by how they ended (completed, failed, cancelled).",
    ["status"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "elevate_turn_duration_seconds",
    "Time from a turn's start to its stored end, by status.",
    ["status"],
    buckets=TURN_BUCKETS,
    registry=REGISTRY,
)
FIRST_TOKEN_SECONDS = Histogram(
    "elevate_turn_first_token_seconds",
    "Time from a turn's start to its first streamed text.",
    buckets=FIRST_TOKEN_BUCKETS,
    registry=REGISTRY,
)
TOOL_CALLS = Counter(
    "elevate_tool_calls",
    "Tool calls made by agents (delegation included), by tool and outcome status.",
    ["tool", "outcome"],
    registry=REGISTRY,
)
OPEN_SOCKETS = Gauge(
    "elevate_open_websockets",
    "Websockets this process has accepted and not yet closed.",
    registry=REGISTRY,
)
QUEUED_TRIGGERS = Gauge(
    "elevate_queued_triggers",
    "Conversations owed an answer (read from the database at scrape time: the same for "
    "every process).",
    registry=REGISTRY,
)
TRIGGERS = Counter(
    "elevate_triggers",
    "Triggers (human messages owed an answer) this process ran.",
    registry=REGISTRY,
)
BUS_ERRORS = Counter(
    "elevate_bus_errors",
    "Event bus operations that failed (Redis down or refusing), by operation.",
    ["operation"],
    registry=REGISTRY,
)
DATABASE_ERRORS = Counter(
    "elevate_database_errors",
    "Database statements or connections that raised, by backend.",
    ["backend"],
    registry=REGISTRY,
)


def watch_database(engine: Any, backend: str) -> None:
    """Count every error the engine raises (SQLAlchemy's `handle_error` event)."""
    from sqlalchemy import event

    counter = DATABASE_ERRORS.labels(backend)

    def _on_error(_context: Any) -> None:
        counter.inc()

    event.listen(engine.sync_engine, "handle_error", _on_error)
