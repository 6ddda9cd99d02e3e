"""Browser hardening: a strict CSP the chat page lives with, no framing, no sniffing."""

from __future__ import annotations

import re
from pathlib import Path

from tests.server.live import Api

STATIC = Path(__file__).resolve().parents[2] / "server" / "static"


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


async def test_the_page_has_a_strict_policy_and_cannot_be_framed(api: Api) -> None:
    page = await api.http.get("/")
    assert page.status_code == 200
    policy = _policy(page.headers["content-security-policy"])
    host = api.server.base_url.removeprefix("http://")
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", f"ws://{host}", f"wss://{host}"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_every_response_carries_the_headers(api: Api) -> None:
    for path in ("/static/app.js", "/api/status", "/api/me"):
        response = await api.http.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path


async def test_a_forged_host_cannot_widen_the_policy(api: Api) -> None:
    page = await api.http.get("/", headers={"Host": "x; script-src *"})
    policy = _policy(page.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]


def test_the_page_needs_no_inline_script_or_style() -> None:
    html = (STATIC / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"\son[a-z]+\s*=", html) == [] and " style=" not in html
    assert "<style" not in html
    for script in STATIC.rglob("*.js"):
        if "vendor" in script.relative_to(STATIC).parts:
            continue  # third-party code styles through the CSSOM, which the policy allows
        lines = script.read_text().splitlines()
        code = "\n".join(line for line in lines if not line.lstrip().startswith("//"))
        for forbidden in ("innerHTML", "eval(", "new Function", 'setAttribute("style"'):
            assert forbidden not in code, f"{script.name} uses {forbidden}"
        # `h(tag, {style: ...})` would become a style attribute, which the policy blocks.
        assert not re.search(r"[{,]\s*style\s*:", code), f"{script.name} sets a style attribute"
