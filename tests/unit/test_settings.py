"""Every settings section refuses an unknown key, naming the key and the section."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from observatory.cli.main import main
from observatory.settings import Settings, SettingsInvalid, get_settings, load_settings
from tests.helpers import clean_observatory_env

clean_env = clean_observatory_env


def test_a_misspelt_nested_variable_names_key_and_section(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, Path(os.devnull))
    monkeypatch.setenv("OBSERVATORY_DEVICES__DOME_ADRESS", "10.0.0.5:11111")
    with pytest.raises(SettingsInvalid) as raised:
        load_settings()
    message = str(raised.value)
    assert "'dome_adress'" in message and "[devices]" in message, message
    assert "OBSERVATORY_DEVICES__DOME_ADRESS" in message


def test_a_misspelt_key_in_the_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "observatory.toml"
    config.write_text("[supervisor]\nhold_of_s = 3\n")
    clean_env(monkeypatch, config)
    with pytest.raises(SettingsInvalid, match=r"'hold_of_s' in section \[supervisor\]"):
        load_settings()


def test_an_unknown_top_level_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env(monkeypatch, Path(os.devnull))
    monkeypatch.setenv("OBSERVATORY_DATADIR", "/tmp/x")
    with pytest.raises(SettingsInvalid, match="OBSERVATORY_DATADIR"):
        load_settings()


def test_a_value_of_the_wrong_type(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env(monkeypatch, Path(os.devnull))
    monkeypatch.setenv("OBSERVATORY_DEVICES__DOME_NUMBER", "one")
    with pytest.raises(SettingsInvalid, match=r"'dome_number' in section \[devices\]"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "key", "section"),
    [
        ("OBSERVATORY_API__PORT", "port", "api"),
        ("OBSERVATORY_SIMULATOR__PORT", "port", "simulator"),
        ("OBSERVATORY_EMBEDDED_REDIS_PORT", "embedded_redis_port", None),
    ],
)
@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_a_port_out_of_range_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, key: str, section: str | None, port: str
) -> None:
    # It loaded, and the command then failed with a traceback from bind().
    clean_env(monkeypatch, Path(os.devnull))
    monkeypatch.setenv(variable, port)
    with pytest.raises(SettingsInvalid) as raised:
        load_settings()
    message = str(raised.value)
    assert f"'{key}'" in message and (section is None or f"[{section}]" in message), message


def test_every_section_refuses_unknown_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, Path(os.devnull))
    settings = load_settings()
    sections = [
        name for name in Settings.model_fields if isinstance(getattr(settings, name), BaseModel)
    ]
    assert len(sections) >= 10, sections
    for section in sections:
        with pytest.raises(SettingsInvalid, match=rf"'no_such_key' in section \[{section}\]"):
            load_settings(**{section: {"no_such_key": 1}})


def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OBSERVATORY_")}
    env["OBSERVATORY_CONFIG"] = os.devnull
    env["OBSERVATORY_DATA_DIR"] = str(tmp_path)
    env["OBSERVATORY_DEVICES__DOME_ADRESS"] = "10.0.0.5:11111"
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "dome_adress" in lines[0] and "[devices]" in lines[0], lines
    assert not (tmp_path / "observatory.db").exists()


def test_a_named_config_file_that_cannot_be_read_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, tmp_path / "absent.toml")
    with pytest.raises(SettingsInvalid, match=r"absent\.toml \(named by OBSERVATORY_CONFIG\)"):
        load_settings()
    clean_env(monkeypatch, tmp_path)  # a folder
    with pytest.raises(SettingsInvalid, match="cannot be read: Is a directory"):
        load_settings()


def test_a_config_file_that_is_not_toml_names_the_file_and_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[processor\nx=")
    clean_env(monkeypatch, config)
    with pytest.raises(SettingsInvalid) as raised:
        load_settings()
    message = str(raised.value)
    assert str(config) in message and "is not TOML" in message and "line 1" in message


def test_without_a_named_file_the_embedded_default_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, tmp_path)
    monkeypatch.delenv("OBSERVATORY_CONFIG")
    assert load_settings().telescope.default_exposures  # set in config/observatory.toml only
    monkeypatch.setenv("OBSERVATORY_CONFIG", os.devnull)  # no file: the code's defaults
    assert not load_settings().telescope.default_exposures


@pytest.mark.parametrize("config", ["absent.toml", "broken.toml"])
def test_the_cli_refuses_a_bad_config_file_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    config: str,
) -> None:
    (tmp_path / "broken.toml").write_text("[processor\nx=")
    clean_env(monkeypatch, tmp_path / config)
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and config in err, err
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("bogus://", "no SQLAlchemy dialect 'bogus'"),
        ("not a url", "is not a URL"),
        ("mysql://ops:secret@db/observatory", "needs the driver MySQLdb"),
    ],
)
def test_a_database_url_that_cannot_work_is_one_line_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    clean_env(monkeypatch, Path(os.devnull))
    monkeypatch.setenv("OBSERVATORY_DATABASE_URL", url)
    with pytest.raises(SettingsInvalid) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message and "secret" not in message and "\n" not in message, message
