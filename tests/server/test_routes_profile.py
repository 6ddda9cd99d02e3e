"""REST of one's own account: profile fields, avatar, password change, sessions."""

from __future__ import annotations

from pathlib import Path

from tests.server.live import Api, LiveServer, User, socket
from tests.support.files import pdf, png

STRONG = "plum tractor violin 42"


def stored_files(server: LiveServer) -> list[Path]:
    root = server.services.settings.data_dir / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def login(api: Api, user: User, password: str = "correct horse") -> User:
    response = await api.http.post(
        "/api/auth/login",
        json={"email": user.email, "password": password},
        headers={"user-agent": "second-device"},
    )
    assert response.status_code == 200, response.text
    return User(user.id, user.name, user.email, response.json()["token"])


async def test_profile_fields_are_read_and_changed(api: Api) -> None:
    ann = await api.register("Ann")
    profile = await api.ok("GET", "/api/me/profile", ann)
    assert (profile["name"], profile["phone"], profile["communication_preferences"]) == (
        "Ann",
        None,
        None,
    )
    changes = {
        "name": "Ann Lee",
        "phone": "+44 20 7946 0000",
        "address": "1 Main St",
        "company": "Acme",
        "marketing_consent": True,
        "preferred_channel": "email",
        "communication_preferences": {"email": True, "sms": False},
    }
    updated = await api.ok("PATCH", "/api/me/profile", ann, json=changes)
    assert {k: updated[k] for k in changes} == changes
    assert (await api.ok("GET", "/api/me", ann))["name"] == "Ann Lee"
    cleared = await api.ok("PATCH", "/api/me/profile", ann, json={"phone": None})
    assert cleared["phone"] is None and cleared["company"] == "Acme"


async def test_bad_profile_input_is_refused_naming_the_field(api: Api) -> None:
    ann = await api.register("Ann")
    for body, field in [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"email": "x@example.com"}, "email"),
        ({"communication_preferences": {"email": "yes"}}, "communication_preferences"),
        ({"is_staff": True}, "is_staff"),
    ]:
        response = await api.call("PATCH", "/api/me/profile", ann, json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["details"][0]["loc"], response.json()
    assert (await api.ok("GET", "/api/me/profile", ann))["name"] == "Ann"


async def test_an_avatar_is_set_shown_to_others_and_replaced(api: Api, server: LiveServer) -> None:
    ann, bo = await api.register("Ann"), await api.register("Bo")
    first = png(2, 2, (0, 0, 255))
    response = await api.call(
        "PUT", "/api/me/avatar", ann, files={"file": ("me.png", first, "image/png")}
    )
    assert response.status_code == 200, response.text
    image = response.json()["image"]
    assert image.startswith(f"/api/users/{ann.id}/avatar?v=")
    shown = await api.call("GET", image, bo)
    assert (shown.status_code, shown.content) == (200, first)
    assert shown.headers["content-type"] == "image/png"
    assert (await api.call("GET", image, None)).status_code == 401

    second = png(3, 3, (0, 255, 0))
    replaced = await api.ok(
        "PUT", "/api/me/avatar", ann, files={"file": ("new.png", second, "image/png")}
    )
    assert replaced["image"] != image
    assert (await api.call("GET", replaced["image"], bo)).content == second
    assert len(stored_files(server)) == 1, "the old avatar's file is deleted"

    removed = await api.ok("DELETE", "/api/me/avatar", ann)
    assert removed["image"] is None and stored_files(server) == []
    assert (await api.call("GET", f"/api/users/{ann.id}/avatar", bo)).status_code == 404


async def test_an_avatar_must_be_a_small_image(api: Api, server: LiveServer) -> None:
    ann = await api.register("Ann")
    server.services.settings.avatar_max_bytes = 1500
    for name, data, code in [
        ("doc.pdf", pdf(["x"]), "upload_type_not_allowed"),
        ("big.png", png(100, 100) + b"\x00" * 1600, "upload_too_large"),
        ("fake.png", b"not an image", "upload_type_not_allowed"),
    ]:
        response = await api.call(
            "PUT", "/api/me/avatar", ann, files={"file": (name, data, "image/png")}
        )
        assert response.json()["code"] == code, response.text
    assert stored_files(server) == []
    assert (await api.ok("GET", "/api/me/profile", ann))["image"] is None


async def test_changing_the_password_needs_the_current_one_and_a_strong_one(api: Api) -> None:
    ann = await api.register("Ann")
    wrong = await api.call(
        "POST",
        "/api/me/password",
        ann,
        json={"current_password": "not it", "new_password": STRONG},
    )
    assert (wrong.status_code, wrong.json()["code"]) == (400, "wrong_password")
    weak = await api.call(
        "POST",
        "/api/me/password",
        ann,
        json={"current_password": "correct horse", "new_password": "password1"},
    )
    assert (weak.status_code, weak.json()["code"]) == (422, "weak_password")
    # Neither attempt changed anything: the old password still signs in.
    await login(api, ann)


async def test_a_changed_password_signs_out_the_other_sessions(
    api: Api, server: LiveServer
) -> None:
    ann = await api.register("Ann")
    other = await login(api, ann)
    async with socket(server, other.token) as ws:
        changed = await api.ok(
            "POST",
            "/api/me/password",
            ann,
            json={"current_password": "correct horse", "new_password": STRONG},
        )
        assert changed == {"revoked_sessions": 1}
        assert await ws.closed_with() == 4401
    assert (await api.call("GET", "/api/me", other)).status_code == 401
    assert (await api.call("GET", "/api/me", ann)).status_code == 200
    await login(api, ann, STRONG)
    old = await api.call(
        "POST", "/api/auth/login", json={"email": ann.email, "password": "correct horse"}
    )
    assert old.status_code == 401


async def test_sessions_are_listed_and_one_is_revoked_with_its_sockets(
    api: Api, server: LiveServer
) -> None:
    ann = await api.register("Ann")
    phone = await login(api, ann)
    sessions = await api.ok("GET", "/api/me/sessions", ann)
    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    (theirs,) = [s for s in sessions if not s["current"]]
    assert theirs["user_agent"] == "second-device"
    async with socket(server, phone.token) as ws:
        revoked = await api.call("DELETE", f"/api/me/sessions/{theirs['id']}", ann)
        assert revoked.status_code == 204
        assert await ws.closed_with() == 4401
    assert (await api.call("GET", "/api/me", phone)).status_code == 401
    assert len(await api.ok("GET", "/api/me/sessions", ann)) == 1
    again = await api.call("DELETE", f"/api/me/sessions/{theirs['id']}", ann)
    assert again.status_code == 404


async def test_someone_elses_session_cannot_be_seen_or_revoked(api: Api) -> None:
    ann, bo = await api.register("Ann"), await api.register("Bo")
    (bos,) = await api.ok("GET", "/api/me/sessions", bo)
    assert all(s["id"] != bos["id"] for s in await api.ok("GET", "/api/me/sessions", ann))
    refused = await api.call("DELETE", f"/api/me/sessions/{bos['id']}", ann)
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert (await api.call("GET", "/api/me", bo)).status_code == 200


async def test_revoking_the_current_session_signs_this_client_out(api: Api) -> None:
    ann = await api.register("Ann")
    (mine,) = await api.ok("GET", "/api/me/sessions", ann)
    assert (await api.call("DELETE", f"/api/me/sessions/{mine['id']}", ann)).status_code == 204
    assert (await api.call("GET", "/api/me", ann)).status_code == 401
