"""Shared config of wire models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class In(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    """A response body, built from a storage row's attributes."""

    model_config = ConfigDict(from_attributes=True)
