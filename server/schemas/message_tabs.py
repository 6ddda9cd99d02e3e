"""Wire models of message tabs: the seed's now/top/todo/done label and tags on a message."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from server.schemas.base import In, Out
from store.message_tabs import MAX_TAG_CHARS, MAX_TAGS

Tab = Literal["now", "top", "todo", "done"]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG_CHARS)
]


class TabsIn(In):
    """A field left out keeps its value; `tab: null` clears the tab, `tags: []` (or null)
    the tags. At least one of the two must be given."""

    tab: Tab | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> TabsIn:
        if not self.model_fields_set & {"tab", "tags"}:
            raise ValueError("give `tab`, `tags` or both")
        return self


class UserBrief(Out):
    id: str
    name: str | None


class TabsPublic(Out):
    conversation_id: str
    message_id: str
    seq: int
    tab: Tab | None
    tags: list[str]
    tagged_at: str | None
    tagged_by: UserBrief
