"""The one place where domain errors become HTTP responses and websocket error codes.

Every error leaves the server as `{code, message}` (plus `details` for bad input); the codes are
stable and documented in docs/protocol.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from store.errors import Conflict, InvalidValue, NotFound, StoreError

log = logging.getLogger(__name__)

# Codes that other layers put on their exceptions (`exc.code`), and their HTTP status.
CODE_STATUS = {
    "invalid_request": 400,
    "invalid_policy": 400,
    "invalid_grant": 400,
    "agent_definition": 400,
    "unknown_tool": 404,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "turn_in_progress": 409,
    "rate_limited": 429,
    "budget_exceeded": 429,
    "attachment_unavailable": 422,
    # Message edits, deletes and regenerations.
    "not_author": 403,
    "not_editable": 409,
    "not_agent_reply": 400,
}
HTTP_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
    429: "rate_limited",
}


class ApiError(Exception):
    """An error the server raises on purpose: a status, a stable code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


@dataclass
class Described:
    """An exception reduced to what a client may see."""

    status: int
    code: str
    message: str
    details: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def describe(exc: BaseException) -> Described | None:
    """The client-facing form of a known error, or None for a bug (logged, answered as 500)."""
    if isinstance(exc, ApiError):
        return Described(exc.status, exc.code, exc.message, exc.details, exc.headers or {})
    if isinstance(exc, NotFound):
        return Described(404, "not_found", f"{exc.table} not found")
    if isinstance(exc, Conflict):
        return Described(409, "conflict", str(exc))
    if isinstance(exc, InvalidValue):
        code = exc.code if exc.code in CODE_STATUS else "invalid_request"
        return Described(400, code, str(exc), {"table": exc.table, "field": exc.field})
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code in CODE_STATUS:
        return Described(CODE_STATUS[code], code, str(exc) or code)
    return None


def _body(described: Described) -> dict[str, Any]:
    body: dict[str, Any] = {"code": described.code, "message": described.message}
    if described.details is not None:
        body["details"] = described.details
    return body


def error_response(exc: BaseException) -> JSONResponse:
    described = describe(exc)
    if described is None:
        log.exception("unhandled error", exc_info=exc)
        described = Described(500, "internal_error", "internal server error")
    return JSONResponse(_body(described), described.status, headers=described.headers or None)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    body = {"code": "invalid_request", "message": "request validation failed", "details": details}
    return JSONResponse(body, 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code
    return JSONResponse(
        {"code": code, "message": message}, exc.status_code, headers=exc.headers or None
    )


def install(app: FastAPI, *domain_errors: type[Exception]) -> None:
    """Register the exception handlers on `app` for our errors and the given domain errors.

    Not for `Exception` itself: Starlette re-raises those after answering, which would log every
    expected refusal as a crash.
    """
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in (ApiError, StoreError, *domain_errors):
        app.add_exception_handler(kind, _domain_error)
