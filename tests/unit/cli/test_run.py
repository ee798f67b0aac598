"""``observatory run --postgres-data DIR`` refuses what cannot work in one line, exit 2,
before anything starts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.cli.main import main
from observatory.settings import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("OBSERVATORY_CONFIG", os.devnull)
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


def _refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured
    return captured.err


def test_postgres_data_on_a_sqlite_database_is_refused(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refusal(["run", "--chaos", "1", "--postgres-data", str(tmp_path)], capsys)
    assert err.startswith(
        "observatory run: --postgres-data needs database_url to name a PostgreSQL"
    )
    assert not data_dir.exists()


def test_postgres_data_without_chaos_is_refused(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refusal(["run", "--postgres-data", str(tmp_path)], capsys)
    assert "--postgres-data is for the faults of --chaos SEED" in err


def test_a_folder_with_no_server_is_refused(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv(
        "OBSERVATORY_DATABASE_URL", f"postgresql+psycopg2://postgres@/x?host={tmp_path}"
    )
    get_settings.cache_clear()
    err = _refusal(["run", "--chaos", "1", "--postgres-data", str(tmp_path)], capsys)
    assert "is not a PostgreSQL data directory" in err
    assert not data_dir.exists()
