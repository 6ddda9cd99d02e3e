"""The column type of an embedding: `real[]` on PostgreSQL, float32 bytes on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import LargeBinary, TypeDecorator
from sqlalchemy.dialects import postgresql


class Vector(TypeDecorator[list[float]]):
    """A list of floats: `real[]` on PostgreSQL (so SQL can compute with it), little-endian
    float32 bytes elsewhere (a quarter of the size of JSON text, read straight into numpy)."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(postgresql.REAL()))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Sequence[float] | None, dialect: Any) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return [float(x) for x in value]
        return np.asarray(value, dtype="<f4").tobytes()

    def process_result_value(self, value: Any, dialect: Any) -> list[float] | None:
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            return np.frombuffer(bytes(value), dtype="<f4").tolist()
        return [float(x) for x in value]
