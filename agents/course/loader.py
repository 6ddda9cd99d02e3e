"""Course content files: one YAML file per module, validated before anything is stored.

A file holds its content `version`, the `module` (seed fields of `course_modules`), the
module's step `agent` and its playbook `prompts`. Every template must follow ROCKET (Role,
Objective, Context, Key constraints, Examples, Tone, in that order) and every placeholder and
required-context path must name a Foundation field; otherwise loading fails with a
`CourseContentError` naming the file, the module and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from store.enums import ElevateStep
from store.foundation import FIELDS

CONTENT_DIR = Path(__file__).parent / "content"
PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")
ROCKET = ("Role:", "Objective:", "Context:", "Key constraints:", "Examples:", "Tone:")
OUTPUT_TYPES = ("Text", "List", "JSON", "Email Draft", "Page Copy")
STRUCTURED = ("List", "JSON")
CODE = r"^[A-Z][a-z]?[0-9]{1,2}$"


class CourseContentError(ValueError):
    """A content file that cannot be loaded; says which file, module and field."""

    code = "invalid_course_content"

    def __init__(self, file: str, module: str, field: str, problem: str) -> None:
        self.file, self.module, self.field = file, module, field
        super().__init__(f"{file}: module {module}: {field}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContextRef(_Strict):
    """A required Foundation field and the label a student sees when it is missing."""

    path: str
    label: str

    @field_validator("path")
    @classmethod
    def _known(cls, path: str) -> str:
        if path not in FIELDS:
            raise ValueError(f"unknown Foundation field {path!r}")
        return path


class PromptSpec(_Strict):
    code: str = Field(pattern=CODE)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1)
    output_type: Literal["Text", "List", "JSON", "Email Draft", "Page Copy"]
    output_fields: list[str] | None = None
    required_context: list[ContextRef | str] = Field(min_length=1)
    rocket_template: str = Field(min_length=1)

    @field_validator("required_context")
    @classmethod
    def _labelled(cls, refs: list[ContextRef | str]) -> list[ContextRef | str]:
        return [_ref(r) if isinstance(r, str) else r for r in refs]

    @field_validator("rocket_template")
    @classmethod
    def _rocket(cls, template: str) -> str:
        check_template(template)
        return template

    def context(self) -> list[dict[str, str]]:
        return [
            r.model_dump() if isinstance(r, ContextRef) else _ref(r).model_dump()
            for r in self.required_context
        ]


def _ref(path: str) -> ContextRef:
    if path not in FIELDS:
        raise ValueError(f"unknown Foundation field {path!r}")
    return ContextRef(path=path, label=FIELDS[path].label)


def check_template(template: str) -> None:
    """Refuse a template that skips a ROCKET heading or names an unknown Foundation field."""
    position = -1
    for heading in ROCKET:
        found = re.search(rf"^{re.escape(heading)}", template, re.MULTILINE)
        if found is None:
            raise ValueError(f"missing the ROCKET heading {heading!r} at the start of a line")
        if found.start() < position:
            raise ValueError(f"ROCKET heading {heading!r} is out of order")
        position = found.start()
    for path in PLACEHOLDER.findall(template):
        if path not in FIELDS:
            raise ValueError(f"unknown Foundation field {{{path}}} in the template")


class AgentSpec(_Strict):
    handle: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str
    description: str
    goal: str
    personality: str
    instructions: str


class ModuleSpec(_Strict):
    module_number: int = Field(ge=0, le=9)
    step: ElevateStep
    title: str = Field(min_length=1, max_length=300)
    objective: str = Field(min_length=1)
    text_content: str = Field(min_length=1)
    grid_definition: dict[str, Any]
    checklist_items: list[str] = Field(min_length=1)
    implementation_guide: str = Field(min_length=1)
    example_text: str = Field(min_length=1)
    video_url: str | None = None
    worksheet_url: str | None = None
    example_image_url: str | None = None
    category: str | None = None
    tags: list[str] | None = None

    @field_validator("grid_definition")
    @classmethod
    def _cells(cls, grid: dict[str, Any]) -> dict[str, Any]:
        for path in _grid_paths(grid):
            if path not in FIELDS:
                raise ValueError(f"unknown Foundation field {path!r} in the grid")
        return grid


def _grid_paths(grid: dict[str, Any]) -> list[str]:
    paths = list(grid.get("uses") or [])
    for section in grid.get("grids") or []:
        paths += list(section.get("cells") or [])
    return [str(p) for p in paths]


class ContentFile(_Strict):
    """One module's file."""

    version: int = Field(ge=1)
    module: ModuleSpec
    agent: AgentSpec
    prompts: list[PromptSpec] = Field(default_factory=list)

    def module_fields(self) -> dict[str, Any]:
        return self.module.model_dump(mode="json")

    def prompt_fields(self) -> list[dict[str, Any]]:
        return [
            {
                "prompt_code": p.code,
                "step": self.module.step.value,
                "title": p.title,
                "description": p.description,
                "rocket_template": p.rocket_template,
                "required_context": p.context(),
                "output_type": p.output_type,
                "output_fields": p.output_fields,
            }
            for p in self.prompts
        ]


def parse(text: str, file: str) -> ContentFile:
    """Validate one file's text; CourseContentError names the file, module and field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CourseContentError(file, "?", "(file)", f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CourseContentError(file, "?", "(file)", "expected a mapping at the top level")
    module = raw.get("module") if isinstance(raw.get("module"), dict) else {}
    name = f"{module.get('module_number', '?')} ({module.get('step', '?')})"
    try:
        content = ContentFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise CourseContentError(file, name, _where(raw, error["loc"]), error["msg"]) from exc
    _check_outputs(content, file, name)
    return content


def _where(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """`prompts[1].rocket_template` (with the prompt's code when there is one)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        elif part not in ("ContextRef", "str"):
            parts.append(str(part))
    where = ".".join(parts)
    if len(loc) > 1 and loc[0] == "prompts" and isinstance(loc[1], int):
        prompts = raw.get("prompts") or []
        if loc[1] < len(prompts) and isinstance(prompts[loc[1]], dict):
            where += f" (prompt {prompts[loc[1]].get('code', '?')})"
    return where


def _check_outputs(content: ContentFile, file: str, name: str) -> None:
    for index, prompt in enumerate(content.prompts):
        if prompt.output_type == "JSON" and not prompt.output_fields:
            raise CourseContentError(
                file, name, f"prompts[{index}].output_fields", "a JSON prompt lists its fields"
            )


def load_dir(directory: Path = CONTENT_DIR) -> list[ContentFile]:
    """Every `*.yaml` file of `directory`, validated, in module order; codes and module
    numbers must be unique across files."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CourseContentError(str(directory), "?", "(directory)", "no *.yaml content files")
    loaded = [(path.name, parse(path.read_text(encoding="utf-8"), path.name)) for path in files]
    _check_unique(loaded)
    return [content for _, content in sorted(loaded, key=lambda f: f[1].module.module_number)]


def _check_unique(loaded: list[tuple[str, ContentFile]]) -> None:
    numbers: dict[int, str] = {}
    codes: dict[str, str] = {}
    for file, content in loaded:
        name = f"{content.module.module_number} ({content.module.step})"
        if content.module.module_number in numbers:
            raise CourseContentError(
                file,
                name,
                "module.module_number",
                f"also in {numbers[content.module.module_number]}",
            )
        numbers[content.module.module_number] = file
        for index, prompt in enumerate(content.prompts):
            if prompt.code in codes:
                raise CourseContentError(
                    file,
                    name,
                    f"prompts[{index}].code",
                    f"{prompt.code} is also in {codes[prompt.code]}",
                )
            codes[prompt.code] = file


def dump(content: dict[str, Any]) -> str:
    """A content file's text from its plain-data form (as `export` writes it)."""
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100)
