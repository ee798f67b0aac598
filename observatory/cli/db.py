"""``observatory db upgrade``."""

from __future__ import annotations

import argparse

from observatory.db.migrate import upgrade
from observatory.settings import get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("db", help="database maintenance")
    sub = p.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="apply every migration to the configured database")
    up.set_defaults(handler=cmd_upgrade)


def cmd_upgrade(args: argparse.Namespace) -> int:
    url = get_settings().sqlalchemy_url
    upgrade(url)
    print(f"database at the latest revision: {url}")
    return 0
