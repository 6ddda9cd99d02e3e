"""Domain errors raised by the store; the server maps them to HTTP codes and error frames."""


class StoreError(Exception):
    """Base class of every error that leaves `store/`; `code` is stable for clients."""

    code = "store_error"


class NotFound(StoreError):
    """A row that was asked for by id does not exist (or is hidden from the caller)."""

    code = "not_found"

    def __init__(self, table: str, id_value: object, field: str = "id") -> None:
        self.table, self.field, self.value = table, field, id_value
        super().__init__(f"{table} with {field}={id_value!r} not found")


class Conflict(StoreError):
    """A write collides with an existing row (a unique key) or a concurrent writer."""

    code = "conflict"

    def __init__(self, table: str, detail: str) -> None:
        self.table = table
        super().__init__(f"{table}: {detail}")


class Fenced(Conflict):
    """A newer lease holder claimed the conversation: this writer's fencing token is stale."""

    code = "lease_lost"

    def __init__(self, conversation_id: str, fence: int) -> None:
        self.conversation_id, self.fence = conversation_id, fence
        super().__init__(
            "conversations",
            f"{conversation_id} was claimed by a newer lease holder (token {fence} is stale)",
        )


class InvalidValue(StoreError):
    """A value the schema does not allow: an unknown literal, a broken reference, a bad shape."""

    code = "invalid_value"

    def __init__(self, table: str, field: str, value: object, expected: str) -> None:
        self.table, self.field, self.value = table, field, value
        super().__init__(f"{table}.{field}: {value!r} is not allowed; expected {expected}")


def integrity_conflict(table: str, exc: Exception) -> StoreError:
    """Turn a driver's integrity error into a domain error that names the table."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "check constraint" in text or "violates check" in text:
        return InvalidValue(table, _constraint_name(text), None, "a value the CHECK allows")
    if "foreign key" in text:
        return InvalidValue(table, _constraint_name(text), None, "a reference to an existing row")
    if "not null" in text or "not-null" in text:
        return InvalidValue(table, _null_column(text), None, "a value (NOT NULL)")
    return Conflict(table, "a row with the same unique key exists")


def _null_column(text: str) -> str:
    # PostgreSQL: 'null value in column "x" of relation ...'; SQLite: 'failed: table.x'.
    if 'column "' in text:
        return text.split('column "', 1)[1].split('"')[0]
    return _constraint_name(text).rsplit(".", 1)[-1]


def _constraint_name(text: str) -> str:
    for marker in ('constraint "', "constraint failed: "):
        if marker in text:
            return text.split(marker, 1)[1].split('"')[0].split()[0]
    return "row"
