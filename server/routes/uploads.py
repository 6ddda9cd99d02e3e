"""Attachments: upload a file, read its details, download it, delete one not yet attached.

Until it is attached to a message an upload is its uploader's alone; once attached, everyone
who may read the conversation may download it. Anyone else gets `not_found`, as if it did not
exist. Attaching happens when a message is sent with `attachment_ids` (REST or websocket).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from server.deps import CurrentUser, ServicesDep
from server.errors import not_found
from server.schemas.uploads import UploadPublic
from server.services import Services
from server.uploading import MULTIPART_FILE, file_response, form_file, read_checked, store_upload
from store.conversations import Conversations
from store.errors import NotFound
from store.models import Upload, User
from store.uploads import ATTACHMENT, Uploads

router = APIRouter(prefix="/api/uploads", tags=["uploads"])


async def readable_upload(services: Services, upload_id: str, user: User) -> Upload:
    """The attachment if the caller uploaded it or may read its conversation; else 404."""
    try:
        upload = await Uploads(services.db).get(upload_id)
    except NotFound:
        raise not_found("upload") from None
    if upload.purpose != ATTACHMENT:
        raise not_found("upload")
    if upload.user_id == user.id:
        return upload
    if upload.conversation_id is not None:
        role = await Conversations(services.db).access(upload.conversation_id, user.id)
        if role is not None:
            return upload
    raise not_found("upload")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadPublic,
    openapi_extra=MULTIPART_FILE,
)
async def upload_file(request: Request, user: CurrentUser, services: ServicesDep) -> Upload:
    """Multipart field `file`: an image, a PDF or a text file, within the size limit."""
    settings = services.settings
    file = await form_file(request, settings.upload_max_bytes)
    checked = await read_checked(file, settings.upload_max_bytes, settings.upload_types)
    return await store_upload(services, user.id, checked, ATTACHMENT)


@router.get("/{upload_id}", response_model=UploadPublic)
async def get_upload(upload_id: str, user: CurrentUser, services: ServicesDep) -> Upload:
    return await readable_upload(services, upload_id, user)


@router.get("/{upload_id}/content", response_class=Response)
async def download_upload(upload_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    return await file_response(services, await readable_upload(services, upload_id, user))


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_upload(upload_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    """Only one's own upload that no message holds (an attached one belongs to the room)."""
    try:
        upload = await Uploads(services.db).delete_unattached(upload_id, user.id)
    except NotFound:
        raise not_found("upload") from None
    await services.blobs.delete(upload.storage_key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
