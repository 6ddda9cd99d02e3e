"""The course REST API on the wire (DESIGN section 10): modules, prompts, runs, assets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from server.schemas.base import In, Out

Step = Literal[
    "Foundation",
    "Hook",
    "Gift",
    "Identify",
    "Engage",
    "Sell",
    "Nurture",
    "Upsell",
    "Educate",
    "Share",
]
ProgressName = Literal["Not Started", "In Progress", "Completed"]
AssetStatusName = Literal["Draft", "Implemented", "Archived"]
OutputType = Literal["Text", "List", "JSON", "Email Draft", "Page Copy"]


class ModuleSummary(Out):
    id: str
    module_number: int
    step: str
    title: str
    objective: str
    status: str
    completed_checklist: int
    checklist_items: list[str]
    agent_id: str | None = None


class ContextRefOut(Out):
    path: str
    label: str
    filled: bool | None = None


class PromptPublic(Out):
    id: str
    prompt_code: str
    step: str
    title: str
    description: str
    rocket_template: str
    required_context: list[ContextRefOut]
    output_type: str
    output_fields: list[str] | None = None


class ProgressOut(Out):
    status: str
    notes: str | None = None
    checked: list[int] = []
    completed_at: datetime | None = None


class ModuleDetail(Out):
    id: str
    module_number: int
    step: str
    title: str
    objective: str
    video_url: str | None = None
    text_content: str | None = None
    grid_definition: Any = None
    checklist_items: list[str] = []
    worksheet_url: str | None = None
    example_image_url: str | None = None
    example_text: str | None = None
    implementation_guide: str | None = None
    status: str | None = None
    category: str | None = None
    tags: list[str] | None = None
    agent_id: str | None = None
    updated_at: datetime | None = None
    playbook_prompts: list[PromptPublic]
    progress: ProgressOut
    conversation_id: str | None = None


class ModuleCreate(In):
    module_number: Annotated[int, Field(ge=0, le=99)]
    step: Step
    title: Annotated[str, Field(min_length=1, max_length=300)]
    objective: Annotated[str, Field(min_length=1)]
    video_url: str | None = None
    text_content: str | None = None
    grid_definition: Any = None
    checklist_items: list[str] | None = None
    worksheet_url: str | None = None
    example_image_url: str | None = None
    example_text: str | None = None
    implementation_guide: str | None = None
    category: Annotated[str, Field(max_length=64)] | None = None
    tags: list[str] | None = None
    agent_id: str | None = None


class ModuleUpdate(In):
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    objective: Annotated[str, Field(min_length=1)] | None = None
    video_url: str | None = None
    text_content: str | None = None
    grid_definition: Any = None
    checklist_items: list[str] | None = None
    worksheet_url: str | None = None
    example_image_url: str | None = None
    example_text: str | None = None
    implementation_guide: str | None = None
    category: Annotated[str, Field(max_length=64)] | None = None
    tags: list[str] | None = None
    agent_id: str | None = None


class ContextRefIn(In):
    path: str
    label: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class PromptCreate(In):
    prompt_code: Annotated[str, Field(pattern=r"^[A-Z][a-z]?[0-9]{1,2}$")]
    step: Step
    title: Annotated[str, Field(min_length=1, max_length=300)]
    description: Annotated[str, Field(min_length=1)]
    rocket_template: Annotated[str, Field(min_length=1)]
    required_context: list[ContextRefIn | str]
    output_type: OutputType
    output_fields: list[str] | None = None


class PromptUpdate(In):
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    description: Annotated[str, Field(min_length=1)] | None = None
    rocket_template: Annotated[str, Field(min_length=1)] | None = None
    required_context: list[ContextRefIn | str] | None = None
    output_type: OutputType | None = None
    output_fields: list[str] | None = None


class ProgressUpdate(In):
    status: ProgressName | None = None
    notes: Annotated[str, Field(max_length=20000)] | None = None


class ChecklistTick(In):
    done: bool


class FoundationOut(Out):
    company_context: dict[str, Any]
    market_awareness: dict[str, Any]
    customer_avatar: dict[str, Any]
    strategic_blueprint_summary: str | None = None
    version: int
    last_updated_at: datetime | None = None
    completeness: dict[str, Any] | None = None


class FoundationVersionOut(Out):
    id: str
    version: int
    changed_by_user_id: str | None = None
    changed_by_agent_id: str | None = None
    changes: list[dict[str, Any]]
    created_at: datetime


class ExecutionOut(Out):
    id: str
    prompt_code: str
    elevate_step: str
    status: str
    rendered_prompt: str | None = None
    input_context_snapshot: Any = None
    ai_response: Any = None
    error: str | None = None
    ai_request_timestamp: datetime
    ai_response_timestamp: datetime | None = None
    refined_output_asset_id: str | None = None


class RunAccepted(Out):
    execution: ExecutionOut


class AssetCreate(In):
    elevate_step: Step
    asset_type: Annotated[str, Field(min_length=1, max_length=128)]
    content: Annotated[str, Field(min_length=1, max_length=100000)]
    channel: Annotated[str, Field(max_length=128)] | None = None
    status: AssetStatusName = "Draft"
    prompt_execution_id: str | None = None


class AssetUpdate(In):
    asset_type: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    content: Annotated[str, Field(min_length=1, max_length=100000)] | None = None
    channel: Annotated[str, Field(max_length=128)] | None = None
    status: AssetStatusName | None = None


class AssetOut(Out):
    id: str
    elevate_step: str
    asset_type: str
    content: str
    channel: str | None = None
    status: str
    prompt_execution_id: str | None = None
    created_at: datetime
    last_updated_at: datetime


class ActivityOut(Out):
    action_type: str
    action_ref: str | None = None
    details: Any = None
    timestamp: datetime


class CourseOverview(Out):
    completion_percent: float
    modules_completed: int
    modules: int
    continue_module_id: str | None = None
    foundation_completeness: dict[str, Any]
