"""Every command of the compose file is a real entry point of the project."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

from observatory.cli.main import build_parser

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"


def services() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def commands() -> dict[str, list[str]]:
    return {
        name: svc["command"]
        for name, svc in services().items()
        if isinstance(svc.get("command"), list)
        and not svc.get("image", "").startswith(("redis", "postgres"))
    }


def test_compose_commands_are_entry_points_of_the_project() -> None:
    found = commands()
    assert {
        "migrate",
        "worker-dome",
        "worker-telescope",
        "worker-processor",
        "beat",
        "reconciler",
        "simulator",
        "supervisor",
        "api",
        "flower",
    } <= set(found)
    parser = build_parser()
    for name, command in found.items():
        program = command[0]
        if program == "observatory":
            parser.parse_args(command[1:])  # exits (fails the test) on an unknown command
        elif program == "celery":
            assert command[1:3] == ["-A", "workers.app"], name
            assert importlib.util.find_spec("workers.app") is not None
        elif program == "python":
            assert command[1] == "-m" and importlib.util.find_spec(command[2]) is not None
        else:
            raise AssertionError(f"{name}: {program} is not an entry point of the project")


def test_dome_and_telescope_workers_run_one_task_at_a_time() -> None:
    found = commands()
    for name in ("worker-dome", "worker-telescope"):
        command = found[name]
        assert command[command.index("-c") + 1] == "1", name


def test_flower_and_the_api_require_their_secrets() -> None:
    found = services()
    flower = found["flower"]
    assert flower["command"][:2] == ["observatory", "flower"]
    assert "--no-auth" not in flower["command"]
    # `${VAR:?message}`: compose refuses to start without the credentials.
    assert ":?" in flower["environment"]["OBSERVATORY_FLOWER__BASIC_AUTH"]
    api = found["api"]
    assert api["command"][:2] == ["observatory", "api"]
    assert ":?" in api["environment"]["OBSERVATORY_API__TOKENS"]
    for name in ("flower", "api"):
        # The merge keeps the shared settings (broker, database) beside the secret.
        environment = found[name]["environment"]
        assert "OBSERVATORY_BROKER_URL" in environment and "OBSERVATORY_DATABASE_URL" in environment
        # Published on loopback only: operators reach them through a reverse proxy.
        assert all(port.startswith("127.0.0.1:") for port in found[name]["ports"])
