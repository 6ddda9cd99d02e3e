"""Usage and budget REST bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from server.schemas.base import MAX_INT, In


class BudgetUpdate(In):
    """A daily token budget override; 0 means no limit."""

    daily_tokens: Annotated[int, Field(ge=0, le=MAX_INT)]
