"""The `elevate` command: help, version, migrate, users, listings, and `serve` on a fresh DB."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server.cli import main


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "migrate", "create-user", "agents", "tools", "version"):
        assert command in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("elevate ")


def test_migrate_create_user_and_listings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["migrate"]) == 0
    assert (
        main(
            [
                "create-user",
                "--email",
                "Ops@Example.com",
                "--name",
                "Ops",
                "--password",
                "pw12345678",
            ]
        )
        == 0
    )
    assert "<ops@example.com>" in capsys.readouterr().out
    assert (
        main(["create-user", "--email", "ops@example.com", "--name", "X", "--password", "p"]) == 1
    )
    assert "conflict" in capsys.readouterr().err
    assert main(["agents", "list"]) == 0
    assert "@assistant" in capsys.readouterr().out
    assert main(["tools", "list"]) == 0
    assert "remember" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_migrates_an_empty_database_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}",
        "ELEVATE_DATA_DIR": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        status = None
        for _ in range(300):
            if process.poll() is not None:
                break
            try:
                status = httpx.get(f"{base}/api/status").json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert status is not None, process.stdout.read().decode() if process.stdout else ""
        assert status["offline"] is True
        page = httpx.get(base)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Elevate"
    finally:
        process.terminate()
        process.wait(timeout=30)
