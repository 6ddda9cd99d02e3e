"""String primary keys that sort by creation time (ULIDs)."""

from ulid import ULID


def new_id() -> str:
    """A 26-character ULID: lexicographic order follows creation time to the millisecond."""
    return str(ULID())
