"""The `elevate` command: serve, migrate, create-user, agents list, tools list, version."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from runtime.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.log_redaction import install_redaction
    from server.services import migrate_if_needed

    install_redaction()
    # Migrate once here, so that several workers do not race to migrate an empty database.
    asyncio.run(migrate_if_needed(settings.resolved_database_url))
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        proxy_headers=True,
    )
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from store.migrate import head_revision, upgrade

    asyncio.run(upgrade(settings.resolved_database_url))
    print(f"database at revision {head_revision()}")
    return 0


async def _with_catalogue(settings: Settings, work):  # type: ignore[no-untyped-def]
    from server.services import load_catalogue, migrate_if_needed
    from store.db import Database

    await migrate_if_needed(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        await load_catalogue(db, settings)
        return await work(db)
    finally:
        await db.close()


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from server.passwords import check_password
    from store.users import Users

    check_password(args.password, email=args.email, name=args.name)

    async def work(db):  # type: ignore[no-untyped-def]
        return await Users(db).create(args.email, args.name, args.password, is_staff=args.staff)

    user = asyncio.run(_with_catalogue(settings, work))
    print(f"created user {user.id} <{user.email}>{' (staff)' if user.is_staff else ''}")
    return 0


def _agents_list(args: argparse.Namespace, settings: Settings) -> int:
    from store.agents import Agents

    async def work(db):  # type: ignore[no-untyped-def]
        return await Agents(db).list()

    for agent in asyncio.run(_with_catalogue(settings, work)):
        print(f"@{agent.handle:<20} {agent.kind:<13} {agent.model or '-':<24} {agent.name}")
    return 0


def _tools_list(args: argparse.Namespace, settings: Settings) -> int:
    from store.tools import Tools

    async def work(db):  # type: ignore[no-untyped-def]
        return await Tools(db).list()

    for tool in asyncio.run(_with_catalogue(settings, work)):
        print(f"{tool.name:<24} {tool.description.splitlines()[0] if tool.description else ''}")
    return 0


def _course_export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from agents.course import export_course

    async def work(db):  # type: ignore[no-untyped-def]
        return await export_course(db, Path(args.directory))

    for path in asyncio.run(_with_catalogue(settings, work)):
        print(f"wrote {path}")
    return 0


def _course_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from agents.course import import_course

    async def work(db):  # type: ignore[no-untyped-def]
        return await import_course(db, Path(args.directory))

    report = asyncio.run(_with_catalogue(settings, work))
    print(f"imported: {len(report.updated)} updated, {len(report.inserted)} new")
    return 0


def _version(args: argparse.Namespace, settings: Settings) -> int:
    from server.routes.status import product_version

    print(f"elevate {product_version()} (websocket protocol 1)")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="elevate",
        description="Elevate multi-agent runtime. Configure with DATABASE_URL, REDIS_URL, "
        "OPENAI_API_KEY, OPENAI_BASE_URL and ELEVATE_* environment variables.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server (migrates an empty database)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)

    create_user = commands.add_parser("create-user", help="create a user who can sign in")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--name", required=True)
    create_user.add_argument("--password", required=True)
    create_user.add_argument("--staff", action="store_true", help="may edit system agents")
    create_user.set_defaults(run=_create_user)

    agents = commands.add_parser("agents", help="agents in the database")
    agents_commands = agents.add_subparsers(dest="agents_command", required=True, metavar="ACTION")
    agents_commands.add_parser("list", help="list agents").set_defaults(run=_agents_list)

    tools = commands.add_parser("tools", help="registered tools")
    tools_commands = tools.add_subparsers(dest="tools_command", required=True, metavar="ACTION")
    tools_commands.add_parser("list", help="list tools").set_defaults(run=_tools_list)

    course = commands.add_parser("course", help="the Elevate course content (YAML files)")
    course_commands = course.add_subparsers(dest="course_command", required=True, metavar="ACTION")
    export = course_commands.add_parser("export", help="write the stored course as YAML files")
    export.add_argument("directory")
    export.set_defaults(run=_course_export)
    load = course_commands.add_parser("import", help="replace the stored course with YAML files")
    load.add_argument("directory")
    load.set_defaults(run=_course_import)

    commands.add_parser("version", help="print the version").set_defaults(run=_version)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args, Settings())
    except Exception as exc:
        code = getattr(exc, "code", None)
        if code is None:
            raise
        print(f"elevate: error: {exc} ({code})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
