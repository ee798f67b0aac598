"""What is wrong outside the project (a database that does not answer, a port another
program holds) is one line naming it, exit 2, not a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from observatory.cli.main import main
from observatory.settings import get_settings


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("argv", [["db", "upgrade"], ["status"]], ids=" ".join)
def test_a_database_that_does_not_answer_is_one_line_without_its_password(
    clean_settings: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql+psycopg2://ops:secret@127.0.0.1:{port}/observatory"
    monkeypatch.setenv("OBSERVATORY_DATABASE_URL", url)
    get_settings.cache_clear()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"ops:***@127.0.0.1:{port}/observatory cannot be reached" in err
    assert "secret" not in err and "Connection refused" in err


def test_simulate_on_a_port_in_use_is_one_line(
    clean_settings: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["simulate", "--host", "127.0.0.1", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port} on 127.0.0.1 is in use" in err, err
