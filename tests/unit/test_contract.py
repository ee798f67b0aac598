"""The public contract of docs DESIGN "Contract that other programs and the checks rely on":
the names other programs and operators use. Each test goes red when one of them disappears
or changes: commands and their options, HTTP routes, setting names, task names, JSON-only
messages, the make targets. Real argparse and the real HTTP application; no stack."""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from observatory.api import create_app
from observatory.cli import bench
from observatory.cli.main import build_parser, main
from observatory.orders.routes import QUEUES, ROUTES
from observatory.settings import PROJECT_ROOT, Settings
from tests.unit.api.conftest import AUTH, TOKEN, Broker, order
from workers.config import celery_config

# command -> options (long flags and positional dest names) it must accept
COMMANDS: dict[str, set[str]] = {
    "run": {"--nights", "--chaos"},
    "up": set(),
    "submit": {"file", "--wait"},
    "status": {"id", "--json", "--state", "--request", "--user", "--since", "--until"},
    "cancel": {"id", "--user", "--reason"},
    "hold": {"queue"},
    "release": {"queue"},
    "dome": {"--direct"},
    "solve": {"files", "--json"},
    "simulate": {"--host", "--port"},
    "db": set(),
    "bench": {"--only"},
    "api": set(),
    "report": set(),
}
DOME_ACTIONS = {"status", "open", "close", "park", "azimuth", "goto"}
BENCH_SUITES = {"calibration", "overhead", "processor", "astrometry"}


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subparsers of ``parser`` by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def accepted(parser: argparse.ArgumentParser) -> set[str]:
    """Every long option and every positional's name the parser accepts."""
    names: set[str] = set()
    for action in parser._actions:
        names.update(flag for flag in action.option_strings if flag.startswith("--"))
        if not action.option_strings:
            names.add(action.dest)
    return names


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(action for action in parser._actions if flag in action.option_strings)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_exists_with_its_options(command: str) -> None:
    commands = subcommands(build_parser())
    assert command in commands, f"observatory {command} is missing"
    missing = COMMANDS[command] - accepted(commands[command])
    assert not missing, f"observatory {command} lacks {sorted(missing)}"


def test_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    listed = set(re.findall(r"^    (\S+)", capsys.readouterr().out, re.MULTILINE))
    assert set(COMMANDS) <= listed


def test_run_takes_a_number_of_nights_and_a_chaos_seed() -> None:
    args = build_parser().parse_args(["run", "--nights", "3", "--chaos", "7"])
    assert (args.nights, args.chaos) == (3, 7)
    assert build_parser().parse_args(["run"]).nights == 1


def test_db_upgrade_and_the_dome_actions() -> None:
    commands = subcommands(build_parser())
    assert "upgrade" in subcommands(commands["db"])
    assert set(subcommands(commands["dome"])) >= DOME_ACTIONS
    # `--direct` before or after the action: both spellings are documented.
    assert build_parser().parse_args(["dome", "--direct", "status"]).direct
    assert build_parser().parse_args(["dome", "status", "--direct"]).direct


def test_solve_takes_several_files() -> None:
    args = build_parser().parse_args(["solve", "a.fits", "b.fit", "--json"])
    assert [str(f) for f in args.files] == ["a.fits", "b.fit"] and args.json


def test_solve_json_names_its_fields(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["solve", str(tmp_path / "absent.fits"), "--json"]) == 2  # none could be read
    [result] = json.loads(capsys.readouterr().out)
    assert {"file", "solved", "ra_deg", "dec_deg", "scale_arcsec", "seconds"} <= set(result)
    assert result["solved"] is False


def test_bench_lists_its_four_suites(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(bench.SUITES) == BENCH_SUITES
    only = option(subcommands(build_parser())["bench"], "--only")
    assert set(only.choices or ()) == BENCH_SUITES
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    shown = capsys.readouterr().out
    assert all(suite in shown for suite in BENCH_SUITES), shown


def test_hold_names_the_queues_and_refuses_others(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(QUEUES) == {"dome", "telescope", "processor"}
    assert main(["hold", "no-such-queue"]) == 2
    assert "no queue 'no-such-queue'" in capsys.readouterr().err


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> TestClient:
    settings = Settings(database_url=database_url, data_dir=tmp_path, api={"tokens": [TOKEN]})
    broker = Broker()
    return TestClient(create_app(settings, broker, broker.probe))


def test_http_routes_and_bearer_tokens(client: TestClient) -> None:
    with client:
        assert client.get("/health").status_code in (200, 503)  # no token needed
        assert client.post("/work-orders", json=order("c1")).status_code == 401
        assert client.get("/work-orders").status_code == 401
        assert client.post("/work-orders", json=order("c1"), headers=AUTH).status_code == 201
        one = client.get("/work-orders/c1", headers=AUTH)
        assert one.status_code == 200 and one.json()["id"] == "c1"
        listed = client.get("/work-orders", params={"request": "dome_status"}, headers=AUTH)
        assert [o["id"] for o in listed.json()] == ["c1"]
        filters = client.get("/openapi.json").json()["paths"]["/work-orders"]["get"]
        assert {"state", "request", "user", "since", "until"} <= {
            parameter["name"] for parameter in filters["parameters"]
        }
        cancel = client.post("/work-orders/c1/cancel", json={"reason": "contract"}, headers=AUTH)
        assert cancel.status_code == 200, cancel.text
        assert client.get("/work-orders/c1", headers=AUTH).json()["state"] == "cancelled"


# setting path -> a value it must accept
SETTINGS: dict[str, object] = {
    "processor.local_roots": ["/data/night"],
    "processor.missing_calibrations": "skip",
    "telescope.default_exposures": [{"filter": "R", "exposure_s": 30.0, "count": 2, "binning": 1}],
    "supervisor.hold_off_s": 60.0,
    "clock.start_utc": "2026-12-06T18:00:00Z",
    "clock.epoch_unix_s": 1.0e9,
    "clock.time_scale": 20.0,
    "api.tokens": ["t"],
    "routine_plan": "config/routine.toml",
}


@pytest.mark.parametrize("path", sorted(SETTINGS))
def test_each_named_setting_exists(path: str) -> None:
    *section, key = path.split(".")
    value = SETTINGS[path]
    settings = Settings(**({section[0]: {key: value}} if section else {key: value}))
    holder = getattr(settings, section[0]) if section else settings
    assert getattr(holder, key) is not None


def test_the_embedded_default_is_valid_and_has_a_default_exposure_plan() -> None:
    embedded = tomllib.loads((PROJECT_ROOT / "config" / "observatory.toml").read_text())
    settings = Settings(**embedded)
    # The design's own observation example (no exposures) runs on the embedded default.
    assert settings.telescope.default_exposures


def test_missing_calibrations_is_fail_or_skip() -> None:
    assert Settings().processor.missing_calibrations == "fail"
    with pytest.raises(ValidationError):
        Settings(processor={"missing_calibrations": "ignore"})


def sections() -> list[str]:
    return [
        name
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    ]


def test_every_section_refuses_unknown_keys() -> None:
    assert {"processor", "telescope", "supervisor", "clock", "api", "devices"} <= set(sections())
    for section in sections():
        with pytest.raises(ValidationError, match="no_such_key"):
            Settings(**{section: {"no_such_key": 1}})
    with pytest.raises(ValidationError):
        Settings(no_such_key=1)


def test_every_task_is_named_observatory_queue_verb() -> None:
    from workers.app import app

    app.loader.import_default_modules()  # the modules a worker imports at start
    names = {name for name in app.tasks if name.startswith("observatory.")}
    pattern = re.compile(rf"^observatory\.({'|'.join(QUEUES)})\.[a-z_]+$")
    assert names and all(pattern.match(name) for name in names), sorted(names)
    for request, route in ROUTES.items():
        assert route.task_name in names, f"{request}: no task {route.task_name}"
        assert route.task_name.startswith(f"observatory.{route.queue}.")
    assert ROUTES["autofocus"].queue == "telescope"


def test_messages_are_json_only() -> None:
    config = celery_config(Settings())
    for key in ("task_serializer", "result_serializer"):
        assert config[key] == "json"
    for key in ("accept_content", "result_accept_content"):
        assert config[key] == ["json"]


def test_make_targets_and_ci() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for target in ("run", "test", "test-fast", "mutation"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"make {target} is missing"
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert readme.index("make run") < readme.index("make test")
