"""Every command of the compose file is a real entry point of the project."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from observatory.cli.main import build_parser
from observatory.settings import load_settings

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


DOCKERFILE = COMPOSE.parent / "Dockerfile"
PROJECT = COMPOSE.parents[1]
# Where the Dockerfile puts the project inside the image.
IMAGE_PROJECT = "/opt/observatory"


def _compose_value(value: str) -> str:
    """A compose value with ``${VAR:-default}`` or ``${VAR-default}`` read as its default
    and ``${VAR:?...}`` or ``${VAR}`` as a placeholder, as if the .env left the optional
    ones unset."""
    value = re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{\w+(:\?[^}]*)?\}", "secret", value)


def test_the_image_installs_the_project_where_its_config_folder_is() -> None:
    # The settings look for config/ (settings file, routine plan, instrument profiles,
    # the simulator's devices) beside the package: a copy installed into site-packages
    # found none of them, and the simulator service refused to start.
    lines = DOCKERFILE.read_text().splitlines()
    assert f"WORKDIR {IMAGE_PROJECT}" in lines
    assert "COPY config ./config" in lines
    install = next(line for line in lines if line.startswith("RUN pip install"))
    assert install.split()[-2:] == ["-e", "."], install


def test_the_services_read_the_production_settings_and_only_real_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in list(os.environ):
        if key.upper().startswith("OBSERVATORY_"):
            monkeypatch.delenv(key)
    for name, service in services().items():
        environment = service.get("environment") or {}
        if not any(str(key).startswith("OBSERVATORY_") for key in environment):
            continue
        config = environment.get("OBSERVATORY_CONFIG")
        assert config, f"{name}: no OBSERVATORY_CONFIG (it would read the embedded default)"
        local = PROJECT / Path(config).relative_to(IMAGE_PROJECT)
        assert local.name != "observatory.toml" and local.is_file(), (name, config)
        with monkeypatch.context() as patched:
            for key, value in environment.items():
                if key.startswith("OBSERVATORY_") and key != "OBSERVATORY_CONFIG":
                    patched.setenv(key, _compose_value(str(value)))
            patched.setenv("OBSERVATORY_CONFIG", str(local))
            patched.setenv("OBSERVATORY_DATA_DIR", str(tmp_path))
            settings = load_settings()  # raises naming an unknown key or a bad value
        assert settings.simulator.enabled is False, name
        assert settings.devices.focuser_address is None, name
        assert settings.routine_plan.is_file() and settings.processor.instruments_dir.is_dir()
