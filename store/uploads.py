"""Uploaded files: store one, read it with access checked, attach to a message, delete.

An upload belongs to its uploader until it is attached to a message; from then on it belongs to
the message's conversation, readable by whoever may read that conversation. Only the uploader's
own unattached uploads can be attached, and attaching is one conditional UPDATE, so two
messages racing for the same upload cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select, update

from store import crud
from store.base import utcnow
from store.db import Database
from store.errors import NotFound, StoreError
from store.models import Upload

ATTACHMENT, AVATAR = "attachment", "avatar"


class UploadUnavailable(StoreError):
    """Upload ids that are unknown, someone else's, already attached or not attachments."""

    code = "attachment_unavailable"

    def __init__(self, upload_ids: Sequence[str]) -> None:
        self.upload_ids = list(upload_ids)
        super().__init__(
            "these uploads cannot be attached (unknown, not yours, or already attached): "
            + ", ".join(self.upload_ids)
        )


class _PartlyClaimed(Exception):
    """Some of the ids could not be attached: roll the attach back."""


def descriptor(upload: Upload) -> dict[str, object]:
    """How a message records an attachment (what the transcript shows, no bytes, no text)."""
    found: dict[str, object] = {
        "type": "upload",
        "upload_id": upload.id,
        "name": upload.name,
        "content_type": upload.content_type,
        "kind": upload.kind,
        "size": upload.size,
    }
    if upload.pages is not None:
        found["pages"] = upload.pages
    return found


class Uploads:
    """Repository of `uploads` (metadata only; the bytes are in blob storage)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, user_id: str, **fields: object) -> Upload:
        return await crud.insert(self.db, crud.build(Upload, user_id=user_id, **fields))

    async def get(self, upload_id: str) -> Upload:
        return await crud.get(self.db, Upload, upload_id)

    async def many_in_conversation(
        self, conversation_id: str, upload_ids: Sequence[str]
    ) -> list[Upload]:
        """The uploads among `upload_ids` attached in this conversation (others are ignored:
        a message can only show what was attached where it was written)."""
        if not upload_ids:
            return []
        query = select(Upload).where(
            Upload.id.in_(list(upload_ids)), Upload.conversation_id == conversation_id
        )
        return await crud.scalars(self.db, query)

    async def attach(
        self,
        upload_ids: Sequence[str],
        user_id: str,
        conversation_id: str,
        client_msg_id: str | None,
    ) -> list[Upload]:
        """Attach the user's own unattached uploads to a message in `conversation_id`, in the
        given order; UploadUnavailable (and nothing attached) when any id cannot be.

        Uploads already attached to this conversation by the same message (`client_msg_id`)
        count as attached: a resent message gets its own attachments back.
        """
        ids = list(dict.fromkeys(upload_ids))
        if not ids:
            return []
        mine = and_(Upload.user_id == user_id, Upload.purpose == ATTACHMENT)
        free = Upload.conversation_id.is_(None)
        resent = (
            and_(Upload.conversation_id == conversation_id, Upload.client_msg_id == client_msg_id)
            if client_msg_id is not None
            else None
        )
        claimable = and_(mine, or_(free, resent) if resent is not None else free)
        try:
            async with self.db.session() as session:
                result = await session.execute(
                    update(Upload)
                    .where(Upload.id.in_(ids), claimable)
                    .values(
                        conversation_id=conversation_id,
                        client_msg_id=client_msg_id,
                        attached_at=utcnow(),
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != len(ids):
                    raise _PartlyClaimed  # rolls the whole UPDATE back
                found = await session.scalars(select(Upload).where(Upload.id.in_(ids)))
                rows = {u.id: u for u in found}
        except _PartlyClaimed:
            raise UploadUnavailable(await self._unavailable(ids, user_id)) from None
        return [rows[i] for i in ids]

    async def _unavailable(self, ids: list[str], user_id: str) -> list[str]:
        query = select(Upload.id).where(
            Upload.id.in_(ids),
            Upload.user_id == user_id,
            Upload.purpose == ATTACHMENT,
            Upload.conversation_id.is_(None),
        )
        free = set(await crud.scalars(self.db, query))
        return [i for i in ids if i not in free]

    async def detach(self, upload_ids: Sequence[str], conversation_id: str) -> None:
        """Give uploads back to their uploader (the message they were attached to was refused)."""
        if not upload_ids:
            return
        async with self.db.session() as session:
            await session.execute(
                update(Upload)
                .where(Upload.id.in_(list(upload_ids)), Upload.conversation_id == conversation_id)
                .values(conversation_id=None, client_msg_id=None, attached_at=None)
                .execution_options(synchronize_session=False)
            )

    async def delete_unattached(self, upload_id: str, user_id: str) -> Upload:
        """Delete one's own upload that no message holds; NotFound otherwise. The caller
        deletes the bytes."""
        async with self.db.session() as session:
            upload = await session.get(Upload, upload_id)
            if upload is None or upload.user_id != user_id or upload.conversation_id is not None:
                raise NotFound("uploads", upload_id)
            await session.delete(upload)
        return upload

    async def delete(self, upload_id: str) -> None:
        async with self.db.session() as session:
            upload = await session.get(Upload, upload_id)
            if upload is not None:
                await session.delete(upload)
