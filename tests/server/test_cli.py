"""The `elevate` command: help, version, migrate, users, listings, and `serve` on a fresh DB."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

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
                "ops strong pass 42",
            ]
        )
        == 0
    )
    assert "<ops@example.com>" in capsys.readouterr().out
    assert (
        main(
            [
                "create-user",
                "--email",
                "ops@example.com",
                "--name",
                "X",
                "--password",
                "a b c d e f",
            ]
        )
        == 1
    )
    assert "conflict" in capsys.readouterr().err
    weak = ["create-user", "--email", "new@example.com", "--name", "New", "--password"]
    assert main([*weak, "12345678"]) == 1
    assert "weak_password" in capsys.readouterr().err
    assert main(["create-user", "--email", "a@b", "--name", "X", "--password", "ops pass 42!"]) == 1
    assert "invalid_value" in capsys.readouterr().err
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


def _serve(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite'}",
        "ELEVATE_DATA_DIR": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    env.pop("ELEVATE_ALLOWED_ORIGINS", None)
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--log-level", "info"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _wait_up(process: subprocess.Popen[bytes], base: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            break
        try:
            httpx.get(f"{base}/api/health")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(process.stdout.read().decode() if process.stdout else "not started")


def test_serve_keeps_tokens_out_of_its_log_and_checks_origins(tmp_path: Path) -> None:
    port = _free_port()
    process = _serve(tmp_path, port)
    base, ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
    try:
        _wait_up(process, base)
        body = {"email": "logs@example.com", "password": "correct horse", "name": "Logs"}
        token = httpx.post(f"{base}/api/auth/register", json=body).json()["token"]
        with connect(f"{ws}?token={token}", origin=f"http://localhost:{port}") as client:
            assert json.loads(client.recv(timeout=15))["type"] == "ready"
        assert httpx.get(f"{base}/api/me", params={"token": token}).status_code == 401
        # Its own origins are the default, and only they.
        with pytest.raises(InvalidStatus), connect(ws, origin="http://evil.example"):
            pass
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert "/ws?token=[redacted]" in output and "/api/me?token=[redacted]" in output, output
    assert token not in output
