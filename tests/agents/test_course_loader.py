"""The shipped course files are valid and complete; a bad file fails naming file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agents.course.loader import CONTENT_DIR, PLACEHOLDER, CourseContentError, load_dir, parse
from store.enums import ElevateStep
from store.foundation import FIELDS


def test_ten_modules_with_every_content_field_and_three_prompts_per_step() -> None:
    files = load_dir()
    assert [f.module.module_number for f in files] == list(range(10))
    assert [f.module.step.value for f in files] == [s.value for s in ElevateStep]
    codes = [p.code for f in files for p in f.prompts]
    assert len(codes) == len(set(codes))
    for file in files:
        module = file.module
        for name in ("objective", "text_content", "implementation_guide", "example_text"):
            assert len(getattr(module, name)) > 80, (module.step, name)
        assert len(module.checklist_items) >= 4
        assert module.grid_definition
        if module.step != ElevateStep.FOUNDATION:
            assert len(file.prompts) >= 3, module.step
        for prompt in file.prompts:
            for path in PLACEHOLDER.findall(prompt.rocket_template):
                assert path in FIELDS
            assert all(ref["label"] for ref in prompt.context())


def _bad_copy(tmp_path: Path, old: str, new: str, file: str = "01_hook.yaml") -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    path = target / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return target


def test_unknown_placeholder_is_refused_naming_file_module_prompt_and_field(
    tmp_path: Path,
) -> None:
    bad = _bad_copy(tmp_path, "{customer_avatar.fears}", "{customer_avatar.feelings}")
    with pytest.raises(CourseContentError) as raised:
        load_dir(bad)
    message = str(raised.value)
    assert message.startswith("01_hook.yaml: module 1 (Hook): prompts[0].rocket_template")
    assert "(prompt H1)" in message
    assert "{customer_avatar.feelings}" in message


def test_unknown_required_context_path_is_refused(tmp_path: Path) -> None:
    bad = _bad_copy(tmp_path, "      - customer_avatar.pains\n", "      - customer_avatar.pain\n")
    with pytest.raises(CourseContentError, match=r"required_context.*customer_avatar\.pain'"):
        load_dir(bad)


def test_missing_rocket_heading_and_unknown_key_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CourseContentError, match="ROCKET heading 'Key constraints:'"):
        load_dir(_bad_copy(tmp_path / "a", "      Key constraints:\n", "      Rules:\n"))
    with pytest.raises(CourseContentError, match=r"module 1 \(Hook\): module\.colour"):
        load_dir(_bad_copy(tmp_path / "b", "  category: Attract\n", "  colour: red\n"))


def test_duplicate_code_is_refused(tmp_path: Path) -> None:
    bad = _bad_copy(tmp_path, "code: G1", "code: H1", "02_gift.yaml")
    with pytest.raises(CourseContentError, match=r"H1 is also in 01_hook\.yaml"):
        load_dir(bad)


def test_not_yaml_names_the_file() -> None:
    with pytest.raises(CourseContentError, match=r"^x\.yaml: .*not valid YAML"):
        parse("module: [unclosed", "x.yaml")
    assert re.match(r"^x\.yaml", str(CourseContentError("x.yaml", "?", "(file)", "p")))
