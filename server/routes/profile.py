"""One's own account: profile fields, avatar, password, and the sessions signed in with it.

Changing the password needs the current one (checked under the same limits as signing in) and
a new one as strong as registration asks; it signs out every other session. Revoking a session
closes the sockets opened with its token, in every process. Avatars are shown to anyone signed
in (they appear beside names in shared rooms).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from server.deps import BearerToken, CurrentUser, ServicesDep
from server.errors import ApiError, not_found
from server.passwords import check_password
from server.schemas.profile import (
    PasswordChange,
    PasswordChanged,
    ProfilePublic,
    ProfileUpdate,
    SessionPublic,
)
from server.upload_checks import IMAGE_TYPES
from server.uploading import MULTIPART_FILE, file_response, form_file, read_checked, store_upload
from store.errors import NotFound
from store.models import User
from store.profiles import Profiles
from store.uploads import AVATAR
from store.users import hash_token

router = APIRouter(prefix="/api", tags=["profile"])


@router.get("/me/profile", response_model=ProfilePublic)
async def get_profile(user: CurrentUser) -> User:
    return user


@router.patch("/me/profile", response_model=ProfilePublic)
async def update_profile(body: ProfileUpdate, user: CurrentUser, services: ServicesDep) -> User:
    return await Profiles(services.db).update(user.id, **body.model_dump(exclude_unset=True))


@router.put("/me/avatar", response_model=ProfilePublic, openapi_extra=MULTIPART_FILE)
async def set_avatar(request: Request, user: CurrentUser, services: ServicesDep) -> User:
    """Multipart field `file`: a PNG, JPEG, GIF or WebP image within the avatar limit."""
    limit = services.settings.avatar_max_bytes
    file = await form_file(request, limit)
    allowed = [t for t in services.settings.upload_types if t in IMAGE_TYPES]
    checked = await read_checked(file, limit, allowed)
    upload = await store_upload(services, user.id, checked, AVATAR)
    updated, dropped = await Profiles(services.db).set_avatar(user.id, upload)
    for key in dropped:
        await services.blobs.delete(key)
    return updated


@router.delete("/me/avatar", response_model=ProfilePublic)
async def remove_avatar(user: CurrentUser, services: ServicesDep) -> User:
    updated, dropped = await Profiles(services.db).set_avatar(user.id, None)
    for key in dropped:
        await services.blobs.delete(key)
    return updated


@router.get("/users/{user_id}/avatar", response_class=Response)
async def get_avatar(user_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    upload = await Profiles(services.db).avatar(user_id)
    if upload is None:
        raise not_found("avatar")
    return await file_response(services, upload)


@router.post("/me/password", response_model=PasswordChanged)
async def change_password(
    body: PasswordChange,
    request: Request,
    token: BearerToken,
    user: CurrentUser,
    services: ServicesDep,
) -> PasswordChanged:
    address = request.client.host if request.client else "unknown"
    await services.login_limits.check(user.email, address)
    profiles = Profiles(services.db)
    if not await profiles.password_matches(user.id, body.current_password):
        await services.login_limits.failed(user.email, address)
        raise ApiError(
            400,
            "wrong_password",
            "the current password is not right",
            details=[{"loc": ["body", "current_password"], "msg": "wrong", "type": "wrong"}],
        )
    await services.login_limits.succeeded(user.email, address)
    check_password(body.new_password, email=user.email, name=user.name)
    revoked = await profiles.set_password(
        user.id, body.new_password, keep_token_hash=hash_token(token)
    )
    for token_hash in revoked:
        await services.sockets.revoked(token_hash)
    return PasswordChanged(revoked_sessions=len(revoked))


@router.get("/me/sessions", response_model=list[SessionPublic])
async def list_sessions(
    token: BearerToken, user: CurrentUser, services: ServicesDep
) -> list[SessionPublic]:
    mine = hash_token(token)
    return [
        SessionPublic.model_validate(row).model_copy(update={"current": row.token_hash == mine})
        for row in await Profiles(services.db).sessions(user.id)
    ]


@router.delete("/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_session(session_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    """One's own session only (anyone else's is `not_found`); revoking the current one signs
    this client out."""
    try:
        token_hash = await Profiles(services.db).revoke_session(user.id, session_id)
    except NotFound:
        raise not_found("session") from None
    await services.sockets.revoked(token_hash)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
