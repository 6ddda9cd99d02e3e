"""FastAPI dependencies as `Annotated` aliases: the current user, the services, repositories."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from runtime.settings import Settings
from server.errors import ApiError
from server.services import Services
from store.agents import Agents
from store.conversations import Conversations
from store.db import Database
from store.groups import Groups
from store.memories import Memories
from store.messages import Messages
from store.models import User
from store.prompts import Prompts
from store.tools import Tools
from store.users import Users

_bearer = HTTPBearer(auto_error=False, description="a token from /api/auth/login or register")


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_db(services: ServicesDep) -> Database:
    return services.db


def get_runtime(services: ServicesDep) -> Any:
    return services.runtime


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
RuntimeDep = Annotated[Any, Depends(get_runtime)]


def get_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "unauthenticated",
            "send `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


BearerToken = Annotated[str, Depends(get_token)]


async def current_user(token: BearerToken, db: DatabaseDep) -> User:
    user = await Users(db).user_for_token(token)
    if user is None:
        raise ApiError(
            401,
            "unauthenticated",
            "the token is unknown, expired or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _repo(cls: type) -> Any:
    def build(db: DatabaseDep) -> Any:
        return cls(db)

    return Depends(build)


UsersDep = Annotated[Users, _repo(Users)]
GroupsDep = Annotated[Groups, _repo(Groups)]
PromptsDep = Annotated[Prompts, _repo(Prompts)]
ConversationsDep = Annotated[Conversations, _repo(Conversations)]
MessagesDep = Annotated[Messages, _repo(Messages)]
AgentsDep = Annotated[Agents, _repo(Agents)]
ToolsDep = Annotated[Tools, _repo(Tools)]
MemoriesDep = Annotated[Memories, _repo(Memories)]
