"""Attaching uploads to a message as it is sent (REST `POST .../messages` and the `send` frame).

The sender's own unattached uploads, named by `attachment_ids`, are attached to the message's
conversation before the message is stored, and recorded on the message as descriptors
(`store.uploads.descriptor`). If storing the message then fails, they are given back. A client's
own free-form `attachments` may not pose as uploads (no `upload_id` there): only ids that went
through this check ever reach a model or the download route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.errors import ApiError
from server.services import Services
from store.uploads import Uploads, descriptor


@dataclass
class Claimed:
    """What to store on the message, and the uploads attached for it."""

    attachments: list[Any] | None
    upload_ids: list[str] = field(default_factory=list)


def _posing_as_upload(item: Any) -> bool:
    return isinstance(item, dict) and ("upload_id" in item or item.get("type") == "upload")


async def claim_attachments(
    services: Services,
    conversation_id: str,
    user_id: str,
    client_msg_id: str | None,
    attachments: list[Any] | None,
    attachment_ids: Sequence[str] | None,
) -> Claimed:
    """Attach the uploads; 422 `too_many_attachments`, `invalid_attachment` or
    `attachment_unavailable` (nothing attached) when they cannot be."""
    if attachments and any(_posing_as_upload(item) for item in attachments):
        raise ApiError(
            422,
            "invalid_attachment",
            "`attachments` may not name uploads; send their ids in `attachment_ids`",
        )
    ids = list(dict.fromkeys(attachment_ids or []))
    if not ids:
        return Claimed(attachments)
    limit = services.settings.max_attachments_per_message
    if len(ids) > limit:
        raise ApiError(
            422, "too_many_attachments", f"{len(ids)} attachments; a message may have {limit}"
        )
    uploads = await Uploads(services.db).attach(ids, user_id, conversation_id, client_msg_id)
    return Claimed([*(descriptor(u) for u in uploads), *(attachments or [])], ids)


async def release(services: Services, conversation_id: str, claimed: Claimed) -> None:
    """Give the uploads back after the message was refused."""
    await Uploads(services.db).detach(claimed.upload_ids, conversation_id)
