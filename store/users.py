"""People and their bearer tokens: argon2 password hashes, tokens stored only as SHA-256 hashes.

A token is shown once, when it is issued; the database keeps its hash, an expiry and a revocation
time, so a stolen database does not yield working tokens and logout takes effect at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select

from store import crud
from store.base import utcnow
from store.db import Database
from store.errors import Conflict, InvalidValue
from store.models import AuthSession, User

_hasher = PasswordHasher()
# Verifying against this keeps an unknown email as slow as a wrong password (no user probing).
_DUMMY_HASH = _hasher.hash("elevate-dummy-password")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """The address in the form it is stored (lower case), or InvalidValue if it is not one.

    Syntax only (no DNS look-up); the reserved `.test` domain is allowed for trial set-ups.
    """
    try:
        checked = validate_email(email.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidValue("users", "email", email, f"an email address ({exc})") from None
    return checked.normalized.lower()


def _lookup_key(email: str) -> str:
    """How an address typed at sign-in is looked up; accounts stored before addresses were
    validated are still found by their plain lower-case form."""
    try:
        return normalise_email(email)
    except InvalidValue:
        return email.strip().lower()


def like_pattern(text: str) -> str:
    """`%text%` for LIKE with `\\` as the escape, so `%` and `_` in `text` match only
    themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class Issued:
    """A freshly issued token (the only time its clear text exists) and its session row."""

    token: str
    session: AuthSession


class Users:
    """Repository of `users` and `auth_sessions`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, email: str, name: str, password: str, *, is_staff: bool = False) -> User:
        """A user with an argon2 password hash; Conflict if the email is taken."""
        email = normalise_email(email)
        if not name.strip():
            raise InvalidValue("users", "name", name, "a non-empty name")
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        user = crud.build(
            User, email=email, name=name.strip(), password_hash=password_hash, is_staff=is_staff
        )
        async with crud.writing(self.db, "users") as session:
            if await session.scalar(select(User.id).where(User.email == email)):
                raise Conflict("users", "that email address cannot be registered")
            await crud.add(session, user)
        return user

    async def get(self, user_id: str) -> User:
        async with self.db.read() as session:
            return await crud.fetch(session, User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        return await crud.first(self.db, select(User).where(User.email == _lookup_key(email)))

    async def many(self, user_ids: list[str]) -> list[User]:
        if not user_ids:
            return []
        return await crud.scalars(self.db, select(User).where(User.id.in_(user_ids)))

    async def search(self, query: str, limit: int = 20) -> list[User]:
        """Users whose name contains `query`, or whose email is exactly `query`, by name.

        Emails are matched whole so that search cannot be used to list the directory's
        addresses; a query shorter than two characters finds nobody. `%` and `_` are plain
        characters here, not wildcards.
        """
        needle = query.strip().lower()
        if len(needle) < 2:
            return []
        by_name = func.lower(User.name).like(like_pattern(needle), escape="\\")
        query = (
            select(User)
            .where(or_(by_name, func.lower(User.email) == needle))
            .order_by(User.name)
            .limit(max(1, min(limit, 100)))
        )
        return await crud.scalars(self.db, query)

    async def authenticate(self, email: str, password: str) -> User | None:
        """The user if the password matches, else None (same cost either way)."""
        user = await self.get_by_email(email)
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return user if stored is not _DUMMY_HASH else None

    async def issue_token(
        self, user_id: str, ttl_seconds: int, *, user_agent: str | None = None
    ) -> Issued:
        """A new random bearer token for the user, valid for `ttl_seconds` unless revoked."""
        token = secrets.token_urlsafe(32)
        row = crud.build(
            AuthSession,
            user_id=user_id,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(seconds=ttl_seconds),
            user_agent=(user_agent or "")[:400] or None,
        )
        return Issued(token, await crud.insert(self.db, row, name_reference=False))

    async def user_for_token(self, token: str) -> User | None:
        """The user a live (unexpired, unrevoked) token belongs to, or None."""
        if not token:
            return None
        now = utcnow()
        async with self.db.read() as session:
            row = await session.scalar(
                select(AuthSession).where(AuthSession.token_hash == hash_token(token))
            )
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return None
            return await session.get(User, row.user_id)

    async def revoke_token(self, token: str) -> bool:
        """Revoke a token (logout); True if it was live."""
        async with self.db.session() as session:
            row = await session.scalar(
                select(AuthSession).where(AuthSession.token_hash == hash_token(token))
            )
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = utcnow()
            return True
