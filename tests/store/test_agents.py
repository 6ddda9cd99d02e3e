"""Agents repository: handles, version bumps, references, attached prompts."""

from __future__ import annotations

import pytest

from store.agents import Agents, handle_from_name
from store.db import Database
from store.errors import Conflict, InvalidValue, NotFound
from store.models import Attachment, Group, Prompt, User
from store.prompts import Prompts, Reader


async def make_user(db: Database, name: str = "Ann") -> User:
    async with db.session() as session:
        user = User(name=name, email=f"{name.lower()}@example.com")
        session.add(user)
    return user


async def make_prompt(db: Database, user: User, title: str, content: str) -> Prompt:
    async with db.session() as session:
        prompt = Prompt(title=title, content=content, created_by=user.id)
        session.add(prompt)
    return prompt


def test_handle_from_name() -> None:
    assert handle_from_name("Market Researcher!") == "market-researcher"
    assert handle_from_name("Élodie's  Writer") == "elodie-s-writer"
    assert handle_from_name("???") == "agent"


async def test_create_derives_handle_and_suffixes_a_taken_one(db: Database) -> None:
    agents = Agents(db)
    first = await agents.create(name="Research Bot")
    second = await agents.create(name="Research Bot")
    assert (first.handle, second.handle) == ("research-bot", "research-bot-2")
    assert first.version == 1
    assert (await agents.get_by_handle("@Research-Bot")).id == first.id


async def test_explicit_taken_handle_conflicts(db: Database) -> None:
    agents = Agents(db)
    await agents.create(name="Writer", handle="writer")
    with pytest.raises(Conflict, match="@writer"):
        await agents.create(name="Other", handle="Writer")
    with pytest.raises(InvalidValue, match="handle"):
        await agents.create(name="Bad", handle="no spaces please")


async def test_update_bumps_version_and_validates_delegates(db: Database) -> None:
    agents = Agents(db)
    user = await make_user(db)
    writer = await agents.create(name="Writer")
    researcher = await agents.create(name="Researcher")
    updated = await agents.update(
        writer.id, updated_by=user.id, delegates_to=[researcher.id], instructions="Be brief."
    )
    assert updated.version == 2
    assert updated.updated_by == user.id
    assert (await agents.get(writer.id)).instructions == "Be brief."
    with pytest.raises(InvalidValue, match="01NOTANAGENT"):
        await agents.update(writer.id, delegates_to=["01NOTANAGENT"])
    with pytest.raises(InvalidValue, match="itself"):
        await agents.update(writer.id, delegates_to=[writer.id])
    with pytest.raises(InvalidValue, match="version"):
        await agents.update(writer.id, version=10)
    assert (await agents.get(writer.id)).version == 2
    assert await agents.bump_version(writer.id) == 3


async def test_touch_active_keeps_version(db: Database) -> None:
    agents = Agents(db)
    agent = await agents.create(name="Helper")
    await agents.touch_active(agent.id)
    fresh = await agents.get(agent.id)
    assert fresh.last_active_time is not None
    assert fresh.version == 1


async def test_delete_removes_agent_from_delegates(db: Database) -> None:
    agents = Agents(db)
    target = await agents.create(name="Target")
    boss = await agents.create(name="Boss", delegates_to=[target.id])
    await agents.delete(target.id)
    with pytest.raises(NotFound):
        await agents.get(target.id)
    fresh = await agents.get(boss.id)
    assert fresh.delegates_to == []
    assert fresh.version == 2


async def test_list_by_creator(db: Database) -> None:
    agents = Agents(db)
    ann, bob = await make_user(db, "Ann"), await make_user(db, "Bob")
    await agents.create(name="Mine", created_by=ann.id)
    await agents.create(name="Theirs", created_by=bob.id)
    assert [a.name for a in await agents.list(created_by=ann.id)] == ["Mine"]
    assert len(await agents.list()) == 2


async def test_attached_prompts_from_agent_and_group(db: Database) -> None:
    agents = Agents(db)
    user = await make_user(db)
    listed = await make_prompt(db, user, "Tone", "Write warmly.")
    attached = await make_prompt(db, user, "Format", "Use bullet points.")
    group_prompt = await make_prompt(db, user, "Team rules", "Cite sources.")
    agent = await agents.create(name="Writer", attached_prompts=[listed.id])
    async with db.session() as session:
        group = Group(name="Team", owner_id=user.id)
        session.add(group)
        await session.flush()
        session.add_all(
            [
                Attachment(owner_type="agent", owner_id=agent.id, prompt_id=attached.id),
                Attachment(owner_type="agent", owner_id=agent.id, prompt_id=listed.id),
                Attachment(owner_type="group", owner_id=group.id, prompt_id=group_prompt.id),
            ]
        )
    found = await agents.attached_prompts(agent.id, group_id=group.id)
    assert [(p.prompt.title, p.via) for p in found] == [
        ("Tone", "agent"),
        ("Format", "agent"),
        ("Team rules", "group"),
    ]
    without_group = await agents.attached_prompts(agent.id)
    assert [p.prompt.title for p in without_group] == ["Tone", "Format"]
    with pytest.raises(InvalidValue, match="prompt"):
        await agents.update(agent.id, attached_prompts=["01NOPROMPT"])


async def test_only_prompts_the_reader_may_read_can_be_listed(db: Database) -> None:
    """With a `reader`, someone else's private prompt is refused exactly like a missing id;
    staff read every prompt, and prompts already listed stay listed on an update."""
    agents = Agents(db)
    ann, eve = await make_user(db, "Ann"), await make_user(db, "Eve")
    secret = await make_prompt(db, ann, "Plan", "Our secret plan.")
    own = await make_prompt(db, eve, "Mine", "Hello.")
    missing = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    as_eve = Reader(eve.id)
    errors = []
    for prompt_id in (secret.id, missing):
        with pytest.raises(InvalidValue) as caught:
            await agents.create(name="Thief", attached_prompts=[prompt_id], reader=as_eve)
        errors.append(str(caught.value).replace(prompt_id, "ID"))
    assert errors[0] == errors[1]
    with pytest.raises(NotFound) as hidden:
        await Prompts(db).readable(secret.id, as_eve)
    with pytest.raises(NotFound) as absent:
        await Prompts(db).readable(missing, as_eve)
    assert str(hidden.value).replace(secret.id, "ID") == str(absent.value).replace(missing, "ID")
    assert (await Prompts(db).readable(secret.id, Reader(eve.id, is_staff=True))).id == secret.id

    staffed = await agents.create(
        name="Staffed", attached_prompts=[secret.id], reader=Reader(eve.id, is_staff=True)
    )
    kept = await agents.update(staffed.id, attached_prompts=[secret.id, own.id], reader=as_eve)
    assert kept.attached_prompts == [secret.id, own.id]
