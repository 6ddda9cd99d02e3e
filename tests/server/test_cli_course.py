"""`elevate course export|import` round-trips the course; a bad file is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.cli import main


def test_course_export_edit_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    out = tmp_path / "course"
    assert main(["course", "export", str(out)]) == 0
    assert len(list(out.glob("*.yaml"))) == 10
    sell = out / "05_sell.yaml"
    sell.write_text(sell.read_text().replace("Offer stack and guarantee", "Our offer stack"))
    assert main(["course", "import", str(out)]) == 0
    capsys.readouterr()
    assert main(["course", "export", str(tmp_path / "again")]) == 0
    assert "Our offer stack" in (tmp_path / "again" / "05_sell.yaml").read_text()

    sell.write_text(sell.read_text().replace("{customer_avatar.fears}", "{customer_avatar.fearz}"))
    assert main(["course", "import", str(out)]) == 1
    err = capsys.readouterr().err
    assert "05_sell.yaml: module 5 (Sell): prompts[0].rocket_template" in err
