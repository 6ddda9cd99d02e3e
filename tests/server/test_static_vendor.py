"""The chat page's vendored libraries are served from this server as JavaScript (module scripts
under `nosniff` need that), each with its license and a pinned version."""

from __future__ import annotations

import re
from pathlib import Path

from tests.server.live import Api

STATIC = Path(__file__).resolve().parents[2] / "server" / "static"
MODULES = [
    "/static/vendor/marked/marked.esm.js",
    "/static/vendor/dompurify/purify.es.mjs",
    "/static/vendor/highlightjs/core.min.js",
    "/static/vendor/highlightjs/languages/python.min.js",
    "/static/js/markdown.js",
    "/static/js/message_tabs.js",
]


async def test_vendored_modules_are_served_as_javascript(api: Api) -> None:
    for path in MODULES:
        response = await api.http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/javascript"), path
        assert response.headers["x-content-type-options"] == "nosniff"


def test_every_vendored_library_has_its_license_and_a_pinned_version() -> None:
    for folder in (STATIC / "vendor").iterdir():
        names = {p.name for p in folder.iterdir()}
        assert any(n.startswith("LICENSE") for n in names), folder.name
        readme = (folder / "README.md").read_text()
        assert re.search(r"\b\d+\.\d+\.\d+\b", readme), f"{folder.name}: no pinned version"
        assert "SHA-256" in readme, folder.name


def test_every_language_markdown_js_imports_is_vendored() -> None:
    source = (STATIC / "js" / "markdown.js").read_text()
    for target in re.findall(r'from "\.\./vendor/([^"]+)"', source):
        assert (STATIC / "vendor" / target).is_file(), target
