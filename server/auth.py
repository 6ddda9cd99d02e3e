"""Register, log in, log out, who am I: bearer tokens over argon2-checked passwords.

Failed logins are counted per email (5 in 5 minutes) and per client address (30); past either
limit the answer is 429 `rate_limited` with `Retry-After`, whatever the password.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request, status

from server.deps import BearerToken, CurrentUser, ServicesDep, SettingsDep, UsersDep
from server.errors import ApiError
from server.schemas.users import AuthOut, LoginIn, RegisterIn, UserPublic
from store.models import User
from store.users import Users

router = APIRouter(prefix="/api", tags=["auth"])


async def _issue(users: Users, user: User, ttl: int, request: Request) -> AuthOut:
    issued = await users.issue_token(user.id, ttl, user_agent=request.headers.get("user-agent"))
    return AuthOut(
        user=UserPublic.model_validate(user),
        token=issued.token,
        expires_at=issued.session.expires_at,
    )


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=AuthOut)
async def register(
    body: RegisterIn, request: Request, users: UsersDep, settings: SettingsDep
) -> AuthOut:
    user = await users.create(body.email, body.name, body.password)
    return await _issue(users, user, settings.token_ttl_seconds, request)


@router.post("/auth/login", response_model=AuthOut)
async def login(body: LoginIn, request: Request, users: UsersDep, services: ServicesDep) -> AuthOut:
    email, address = body.email.strip().lower(), _client(request)
    by_email, by_address = services.failures_by_email, services.failures_by_address
    wait = max(by_email.retry_after(email), by_address.retry_after(address))
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "too many failed logins; try again later",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    user = await users.authenticate(body.email, body.password)
    if user is None:
        by_email.fail(email)
        by_address.fail(address)
        raise ApiError(401, "unauthenticated", "wrong email or password")
    by_email.reset(email)
    return await _issue(users, user, services.settings.token_ttl_seconds, request)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(token: BearerToken, user: CurrentUser, users: UsersDep) -> None:
    await users.revoke_token(token)


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser) -> User:
    return user


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
