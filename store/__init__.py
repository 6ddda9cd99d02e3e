"""Persistence for the Elevate runtime: SQLAlchemy models, migrations and repositories.

`store` imports nothing from the rest of the product; everything else reaches the database
through the repositories here, never through raw sessions.
"""

from store.db import Database
from store.errors import Conflict, InvalidValue, NotFound, StoreError

__all__ = ["Conflict", "Database", "InvalidValue", "NotFound", "StoreError"]
