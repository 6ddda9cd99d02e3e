"""Registration, login, logout, tokens, password and email checks, and the login limits,
over real HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.db import Database
from store.models import AuthSession
from store.users import hash_token
from tests.server.live import Api, User, live_server


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


async def test_register_validation(api: Api) -> None:
    response = await api.call(
        "POST", "/api/auth/register", json={"email": "x@example.com", "password": "short"}
    )
    body = response.json()
    assert response.status_code == 422 and body["code"] == "invalid_request"
    assert {tuple(d["loc"]) for d in body["details"]} >= {("body", "password"), ("body", "name")}


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "x@y@z", "a b@example.com", "@x.com"])
async def test_register_refuses_odd_emails(api: Api, email: str) -> None:
    response = await api.call(
        "POST",
        "/api/auth/register",
        json={"email": email, "password": "correct horse", "name": "X"},
    )
    body = response.json()
    assert response.status_code == 422 and body["code"] == "invalid_request", body
    assert [d["loc"] for d in body["details"]] == [["body", "email"]]


@pytest.mark.parametrize(
    "password", ["12345678", "password", " " * 8, "{email}", "aaaaaaaaaa", "qwertyuiop"]
)
async def test_register_refuses_weak_passwords(api: Api, password: str) -> None:
    email = "weak.one@example.com"
    response = await api.call(
        "POST",
        "/api/auth/register",
        json={"email": email, "password": password.format(email=email), "name": "Weak One"},
    )
    body = response.json()
    assert response.status_code == 422 and body["code"] == "weak_password", body
    assert body["message"] and body["details"][0]["loc"] == ["body", "password"]
    assert (
        await api.call(
            "POST",
            "/api/auth/login",
            json={"email": email, "password": password.format(email=email)},
        )
    ).status_code == 401


async def test_register_does_not_reveal_a_registered_address(api: Api) -> None:
    alice = await api.register("Alice")
    taken = {"email": alice.email, "password": "another pass phrase", "name": "Mallory"}
    response = await api.call("POST", "/api/auth/register", json=taken)
    body = response.json()
    assert response.status_code == 400 and body["code"] == "registration_failed"
    assert alice.email not in response.text and "registered" not in body["message"]
    # The owner registering again with their own password is signed in, in the same shape.
    mine = {"email": alice.email.upper(), "password": "correct horse", "name": "Alice"}
    response = await api.call("POST", "/api/auth/register", json=mine)
    assert response.status_code == 201
    again = response.json()
    assert again["user"]["id"] == alice.id and set(again) == {"user", "token", "expires_at"}
    assert (await api.ok("GET", "/api/me", User(alice.id, "", "", again["token"])))[
        "id"
    ] == alice.id


def _from(address: str) -> dict[str, str]:
    """The test server trusts proxy headers from loopback, as `elevate serve` does."""
    return {"X-Forwarded-For": address}


async def _login(api: Api, email: str, password: str, address: str) -> int:
    body = {"email": email, "password": password}
    response = await api.http.post("/api/auth/login", json=body, headers=_from(address))
    return response.status_code


async def test_failed_logins_back_off_whether_or_not_the_address_is_registered(
    api: Api,
) -> None:
    alice = await api.register("Alice")
    seen = {}
    for email in ("nobody.here@example.com", alice.email):
        seen[email] = [await _login(api, email, "wrong password", "10.1.0.1") for _ in range(4)]
    assert seen[alice.email] == seen["nobody.here@example.com"] == [401, 401, 401, 429]
    right = {"email": alice.email, "password": "correct horse"}
    response = await api.http.post("/api/auth/login", json=right, headers=_from("10.1.0.1"))
    # The right password is refused too while the guesser waits, or waiting would not slow it.
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited" and int(response.headers["Retry-After"]) > 0


async def test_a_stranger_cannot_lock_the_owner_out(api: Api) -> None:
    alice = await api.register("Alice")
    assert await _login(api, alice.email, "correct horse", "10.2.0.1") == 200
    # Someone fails with Alice's email from many addresses, again and again: past the account's
    # free failures even a fresh address has to wait.
    first_tries = []
    for n in range(2, 30):
        first_tries.append(await _login(api, alice.email, "wrong password", f"10.2.0.{n}"))
        for _ in range(3):
            await _login(api, alice.email, "wrong password", f"10.2.0.{n}")
    assert first_tries[:4] == [401] * 4 and 429 in first_tries
    # Alice, where she signed in before, is not slowed at all.
    assert await _login(api, alice.email, "correct horse", "10.2.0.1") == 200


async def test_register_with_a_taken_address_counts_as_a_failed_login(api: Api) -> None:
    alice = await api.register("Alice")
    taken = {"email": alice.email, "password": "another pass phrase", "name": "Mallory"}
    statuses = [
        (
            await api.http.post("/api/auth/register", json=taken, headers=_from("10.3.0.1"))
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    assert await _login(api, alice.email, "correct horse", "10.3.0.1") == 429


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


async def test_login_limits_hold_across_processes(make_settings, redis_url: str | None) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL: without it each process counts its own failures")
    settings = make_settings()
    async with live_server(settings) as one, live_server(settings) as two:
        first, second = Api(one), Api(two)
        alice = await first.register("Alice")
        # Failures spread over both processes count together, as a guesser would spread them.
        statuses = [
            await _login(api, alice.email, "wrong password", "10.4.0.1")
            for api in (first, second, first, second)
        ]
        assert statuses == [401, 401, 401, 429]
        assert await _login(first, alice.email, "correct horse", "10.4.0.1") == 429
        await first.close()
        await second.close()
