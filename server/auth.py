"""Register, log in, log out, who am I: bearer tokens over argon2-checked passwords.

Neither answer tells a stranger whether an address is registered beyond what registering itself
must: registering a taken address with its password signs its owner in (201, the same shape as a
new account); with another password the answer is 400 `registration_failed`, which names no
address and counts as a failed password check. Every password check goes through
`server.login_limits` (backoff per address and account, never a lock-out of the owner). Logout
revokes the token and closes every socket opened with it, in every server process.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from server.deps import BearerToken, CurrentUser, ServicesDep, UsersDep
from server.errors import ApiError
from server.passwords import check_password
from server.schemas.users import AuthOut, LoginIn, RegisterIn, UserPublic
from store.errors import Conflict
from store.models import User
from store.users import Users, hash_token

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
    body: RegisterIn, request: Request, users: UsersDep, services: ServicesDep
) -> AuthOut:
    address = _client(request)
    await services.login_limits.check(body.email, address)
    check_password(body.password, email=body.email, name=body.name)
    try:
        user = await users.create(body.email, body.name, body.password)
    except Conflict:
        user = await _password_check(services, users, body.email, body.password, address)
        if user is None:
            raise ApiError(
                400,
                "registration_failed",
                "could not create an account with these details; if you already have one, "
                "sign in instead",
            ) from None
    return await _issue(users, user, services.settings.token_ttl_seconds, request)


@router.post("/auth/login", response_model=AuthOut)
async def login(body: LoginIn, request: Request, users: UsersDep, services: ServicesDep) -> AuthOut:
    email, address = body.email.strip().lower(), _client(request)
    await services.login_limits.check(email, address)
    user = await _password_check(services, users, email, body.password, address)
    if user is None:
        raise ApiError(401, "unauthenticated", "wrong email or password")
    return await _issue(users, user, services.settings.token_ttl_seconds, request)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    token: BearerToken, user: CurrentUser, users: UsersDep, services: ServicesDep
) -> None:
    await users.revoke_token(token)
    await services.sockets.revoked(hash_token(token))


@router.get("/me", response_model=UserPublic)
async def me(user: CurrentUser) -> User:
    return user


async def _password_check(
    services: ServicesDep, users: Users, email: str, password: str, address: str
) -> User | None:
    """The user if the password is theirs; the outcome feeds the login limits."""
    user = await users.authenticate(email, password)
    if user is None:
        await services.login_limits.failed(email, address)
    else:
        await services.login_limits.succeeded(email, address)
    return user


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
