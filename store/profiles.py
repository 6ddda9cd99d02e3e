"""A person's own account: profile fields, avatar, password, and their sign-in sessions.

Sessions are the `auth_sessions` rows (tokens stored hashed); revoking one answers the token's
hash so the server can close the sockets opened with it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from store import crud
from store.base import utcnow
from store.db import Database
from store.errors import InvalidValue, NotFound
from store.models import AuthSession, Upload, User
from store.uploads import AVATAR

PROFILE_FIELDS = (
    "name",
    "phone",
    "address",
    "company",
    "marketing_consent",
    "preferred_channel",
    "communication_preferences",
)
_hasher = PasswordHasher()


class Profiles:
    """Repository of what a user may change about their own account."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def update(self, user_id: str, **fields: Any) -> User:
        """Set profile fields (only those in `PROFILE_FIELDS`; a name cannot be blank)."""
        unknown = set(fields) - set(PROFILE_FIELDS)
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidValue("users", name, fields[name], "a profile field")
        if "name" in fields:
            fields["name"] = str(fields["name"]).strip()
            if not fields["name"]:
                raise InvalidValue("users", "name", fields["name"], "a non-empty name")
        return await crud.update(self.db, User, user_id, **fields)

    async def password_matches(self, user_id: str, password: str) -> bool:
        user = await crud.get(self.db, User, user_id)
        if not user.password_hash:
            return False
        try:
            await asyncio.to_thread(_hasher.verify, user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return True

    async def set_password(self, user_id: str, password: str, *, keep_token_hash: str) -> list[str]:
        """Store a new password hash and revoke every other live session of the user, in one
        transaction; the revoked sessions' token hashes (to close their sockets)."""
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        now = utcnow()
        async with self.db.session() as session:
            user = await crud.fetch(session, User, user_id)
            user.password_hash = password_hash
            rows = await session.scalars(
                select(AuthSession).where(
                    AuthSession.user_id == user_id,
                    AuthSession.revoked_at.is_(None),
                    AuthSession.token_hash != keep_token_hash,
                )
            )
            revoked = []
            for row in rows:
                row.revoked_at = now
                revoked.append(row.token_hash)
        return revoked

    async def sessions(self, user_id: str) -> list[AuthSession]:
        """The user's live sessions (unrevoked, unexpired), newest first."""
        query = (
            select(AuthSession)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > utcnow(),
            )
            .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
        )
        return await crud.scalars(self.db, query)

    async def revoke_session(self, user_id: str, session_id: str) -> str:
        """Revoke one of the user's own live sessions; its token hash. NotFound for someone
        else's session, an unknown id or one already revoked."""
        async with self.db.session() as session:
            result = await session.execute(
                update(AuthSession)
                .where(
                    AuthSession.id == session_id,
                    AuthSession.user_id == user_id,
                    AuthSession.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
                .returning(AuthSession.token_hash)
            )
            token_hash = result.scalar_one_or_none()
        if token_hash is None:
            raise NotFound("auth_sessions", session_id)
        return token_hash

    async def avatar(self, user_id: str) -> Upload | None:
        """The user's current avatar upload, if any."""
        query = (
            select(Upload)
            .where(Upload.user_id == user_id, Upload.purpose == AVATAR)
            .order_by(Upload.created_at.desc(), Upload.id.desc())
            .limit(1)
        )
        return await crud.first(self.db, query)

    async def set_avatar(self, user_id: str, upload: Upload | None) -> tuple[User, list[str]]:
        """Make `upload` the avatar (None: no avatar) and drop the older ones; the user and
        the storage keys of the dropped avatars (for the caller to delete)."""
        image = f"/api/users/{user_id}/avatar?v={upload.id}" if upload is not None else None
        async with self.db.session() as session:
            user = await crud.fetch(session, User, user_id)
            user.image = image
            older = await session.scalars(
                select(Upload).where(
                    Upload.user_id == user_id,
                    Upload.purpose == AVATAR,
                    *([Upload.id != upload.id] if upload is not None else []),
                )
            )
            keys = []
            for row in older:
                keys.append(row.storage_key)
                await session.delete(row)
        return user, keys
