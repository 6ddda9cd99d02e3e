"""Registration, login, logout, tokens, and the failed-login rate limit, over real HTTP."""

from __future__ import annotations

from sqlalchemy import select

from store.db import Database
from store.models import AuthSession
from store.users import hash_token
from tests.server.live import Api


async def test_register_login_me_logout(api: Api) -> None:
    alice = await api.register("Alice")
    me = await api.ok("GET", "/api/me", alice)
    assert me["id"] == alice.id and me["email"] == alice.email and "password_hash" not in me

    login = await api.ok(
        "POST", "/api/auth/login", json={"email": alice.email.upper(), "password": "correct horse"}
    )
    assert login["user"]["id"] == alice.id and login["token"] != alice.token

    response = await api.call("POST", "/api/auth/logout", alice)
    assert response.status_code == 204
    response = await api.call("GET", "/api/me", alice)
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    # The other session still works: logout revokes one token.
    assert (
        await api.http.get("/api/me", headers={"Authorization": f"Bearer {login['token']}"})
    ).status_code == 200


async def test_tokens_are_stored_only_as_hashes(api: Api, database_url: str) -> None:
    alice = await api.register("Alice")
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = list(await session.scalars(select(AuthSession)))
    finally:
        await db.close()
    assert [r.token_hash for r in rows] == [hash_token(alice.token)]
    assert all(alice.token not in (r.token_hash or "") for r in rows)


async def test_bad_credentials_and_tokens(api: Api) -> None:
    alice = await api.register("Alice")
    response = await api.call(
        "POST", "/api/auth/login", json={"email": alice.email, "password": "wrong password"}
    )
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    response = await api.call(
        "POST", "/api/auth/login", json={"email": "nobody@example.com", "password": "whatever1"}
    )
    assert response.status_code == 401
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic x"}):
        response = await api.http.get("/api/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "unauthenticated"


async def test_register_validation_and_conflict(api: Api) -> None:
    alice = await api.register("Alice")
    response = await api.call(
        "POST",
        "/api/auth/register",
        json={"email": alice.email, "password": "another pass", "name": "Alice 2"},
    )
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    response = await api.call(
        "POST", "/api/auth/register", json={"email": "x@example.com", "password": "short"}
    )
    body = response.json()
    assert response.status_code == 422 and body["code"] == "invalid_request"
    assert {tuple(d["loc"]) for d in body["details"]} >= {("body", "password"), ("body", "name")}
    response = await api.call(
        "POST",
        "/api/auth/register",
        json={"email": "not-an-email", "password": "long enough", "name": "X"},
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"


async def test_failed_logins_are_rate_limited(api: Api) -> None:
    alice = await api.register("Alice")
    wrong = {"email": alice.email, "password": "wrong password"}
    statuses = [
        (await api.call("POST", "/api/auth/login", json=wrong)).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    response = await api.call(
        "POST", "/api/auth/login", json={"email": alice.email, "password": "correct horse"}
    )
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited" and int(response.headers["Retry-After"]) > 0


async def test_status_is_public(api: Api) -> None:
    status = await api.ok("GET", "/api/status")
    assert status["offline"] is True and status["protocol"] == 1
    assert status["backends"]["database"] in ("sqlite", "postgresql")
    assert status["backends"]["bus"] in ("in-process", "redis")
    assert (await api.ok("GET", "/api/health")) == {"ok": True}


async def test_other_people_behind_the_same_address_can_still_log_in(api: Api) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    wrong = {"email": alice.email, "password": "wrong password"}
    for _ in range(6):
        await api.call("POST", "/api/auth/login", json=wrong)
    response = await api.call(
        "POST", "/api/auth/login", json={"email": bob.email, "password": "correct horse"}
    )
    assert response.status_code == 200
