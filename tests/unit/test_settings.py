"""Every settings section refuses an unknown key, naming the key and the section."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from observatory.settings import Settings, SettingsInvalid, load_settings


def clean_env(monkeypatch: pytest.MonkeyPatch, config: Path) -> None:
    for key in list(os.environ):
        if key.upper().startswith("OBSERVATORY_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OBSERVATORY_CONFIG", str(config))


def test_a_misspelt_nested_variable_names_key_and_section(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, tmp_path / "absent.toml")
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
    clean_env(monkeypatch, tmp_path / "absent.toml")
    monkeypatch.setenv("OBSERVATORY_DATADIR", "/tmp/x")
    with pytest.raises(SettingsInvalid, match="OBSERVATORY_DATADIR"):
        load_settings()


def test_a_value_of_the_wrong_type(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env(monkeypatch, tmp_path / "absent.toml")
    monkeypatch.setenv("OBSERVATORY_DEVICES__DOME_NUMBER", "one")
    with pytest.raises(SettingsInvalid, match=r"'dome_number' in section \[devices\]"):
        load_settings()


def test_every_section_refuses_unknown_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env(monkeypatch, tmp_path / "absent.toml")
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
    env["OBSERVATORY_CONFIG"] = str(tmp_path / "absent.toml")
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
