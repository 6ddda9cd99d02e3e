"""PostgreSQL fast path of `Messages.append`: the same two statements, sent by asyncpg itself.

Through SQLAlchemy Core an append spends more CPU than its four round trips take (compiling,
result wrapping, a greenlet hop per call), which held it near half of raw asyncpg's rate (bench
scenario 5). Here the pooled connection's asyncpg handle runs plain SQL, which asyncpg prepares
once per connection and caches. Values go through the columns' own SQLAlchemy bind processors,
so JSON and timestamps are stored exactly as the ORM would store them and read back the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.util.concurrency import greenlet_spawn

from store.base import utcnow
from store.db import Database
from store.errors import NotFound
from store.models import ConversationMessage

# The integrity errors `store.errors.integrity_conflict` maps, as asyncpg raises them.
INTEGRITY_ERRORS = (
    asyncpg.UniqueViolationError,
    asyncpg.ForeignKeyViolationError,
    asyncpg.CheckViolationError,
    asyncpg.NotNullViolationError,
)

# Errors about the values themselves (a string too long for its column, a bad number).
DATA_ERRORS = (asyncpg.DataError,)

_COLUMNS = [column.name for column in ConversationMessage.__table__.columns]
_SEQ = _COLUMNS.index("seq")

_NEXT_SEQ = (
    "UPDATE conversations SET last_seq = last_seq + 1, last_message_time = $2 "
    "WHERE id = $1 RETURNING last_seq"
)
_NEXT_TRIGGER_SEQ = (
    "UPDATE conversations SET last_seq = last_seq + 1, trigger_seq = last_seq + 1, "
    "last_message_time = $2 WHERE id = $1 RETURNING last_seq"
)
_SENT = (
    "SELECT 1 FROM conversation_messages WHERE conversation_id = $1 "
    "AND author_participant_id IS NULL AND client_msg_id = $2"
)
_INSERT = (
    f"INSERT INTO conversation_messages ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))})"
)

_Processors = list[Callable[[Any], Any] | None]
_processors: WeakKeyDictionary[Dialect, _Processors] = WeakKeyDictionary()


class _Sent(Exception):
    """Leave the transaction rolled back: the system message was already stored."""


def _bind_processors(dialect: Dialect) -> _Processors:
    found = _processors.get(dialect)
    if found is None:
        found = [
            column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in ConversationMessage.__table__.columns
        ]
        _processors[dialect] = found
    return found


def _arguments(dialect: Dialect, values: dict[str, Any]) -> list[Any]:
    # A missing value is SQL NULL, as in the Core INSERT that leaves it out (not JSON 'null').
    arguments = []
    for name, process in zip(_COLUMNS, _bind_processors(dialect), strict=True):
        value = values.get(name)
        arguments.append(process(value) if process is not None and value is not None else value)
    return arguments


async def append(
    db: Database, values: dict[str, Any], system_resend: bool, triggers: bool = False
) -> int | None:
    """Take the next `seq` and insert the row in one transaction; return the `seq`.

    `triggers` also moves the conversation's `trigger_seq` to it (an answer is owed).

    None: a system message (no author) with this `client_msg_id` exists, nothing was stored.
    Raises NotFound for an unknown conversation and asyncpg's errors as they come (the caller
    maps `INTEGRITY_ERRORS`); either way the transaction is rolled back and the seq given back.
    """
    arguments = _arguments(db.engine.dialect, values)
    # The pool's own checkout and checkin (events, reset), without a Connection around them.
    pooled = await db.engine.raw_connection()
    driver = pooled.driver_connection
    try:
        async with driver.transaction():
            next_seq = _NEXT_TRIGGER_SEQ if triggers else _NEXT_SEQ
            seq = await driver.fetchval(next_seq, values["conversation_id"], utcnow())
            if seq is None:
                raise NotFound("conversations", values["conversation_id"])
            if system_resend:
                # The unique key cannot see a NULL author: check under the row lock instead.
                sent = await driver.fetchval(
                    _SENT, values["conversation_id"], values["client_msg_id"]
                )
                if sent is not None:
                    raise _Sent
            arguments[_SEQ] = seq
            await driver.execute(_INSERT, *arguments)
    except _Sent:
        return None
    except (NotFound, asyncpg.PostgresError):
        # Refused by the server or by us, and rolled back: the connection is clean.
        raise
    except BaseException:
        # Cancelled or broken mid-transaction: its state is unknown, so it is not reused.
        await greenlet_spawn(pooled.invalidate)
        raise
    finally:
        await greenlet_spawn(pooled.close)
    return seq
