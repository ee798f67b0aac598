"""``observatory submit``: every input error is one clear line and exit 2."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from observatory.cli.main import main as cli_main


def submit(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(["submit", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_refusal(code: int, out: str, err: str, words: str) -> None:
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("invalid work order: ")
    assert words in err
    assert "Traceback" not in err


def test_a_file_that_is_not_utf8_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "order.json"
    path.write_bytes('{"id": "1", "user": "J\u00fcrgen"}'.encode("latin-1"))
    assert_one_line_refusal(*submit([str(path)], capsys), "is not UTF-8 text")


def test_standard_input_that_is_not_utf8_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b'{"id": "\xff"}'), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    assert_one_line_refusal(*submit(["-"], capsys), "standard input is not UTF-8 text")


def test_a_directory_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_refusal(*submit([str(tmp_path)], capsys), "is a directory")


def test_a_missing_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.json"
    assert_one_line_refusal(*submit([str(missing)], capsys), "No such file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    assert_one_line_refusal(*submit([str(path)], capsys), "Permission denied")


def test_an_unreadable_file_is_refused_in_one_line_even_for_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A FIFO without a writer cannot be opened for reading without blocking; a socket
    # path cannot be opened at all, for any user.
    import socket

    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        assert_one_line_refusal(*submit([str(path)], capsys), "cannot read")
    finally:
        server.close()


@pytest.mark.parametrize("text", ["", "   \n\t\n"])
def test_an_empty_file_is_refused_in_one_line(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.json"
    path.write_text(text)
    assert_one_line_refusal(*submit([str(path)], capsys), "is empty")


def test_a_database_never_migrated_is_named_with_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from observatory.settings import get_settings

    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OBSERVATORY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    order = tmp_path / "order.json"
    order.write_text(
        '{"id": "1", "request": "dome_open", "datetime": "2026-12-06T20:00:00", "user": "me"}'
    )
    try:
        code, out, err = submit([str(order)], capsys)
    finally:
        get_settings.cache_clear()
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "has no tables yet; run `observatory db upgrade`" in err


@pytest.mark.parametrize(
    "argv", [["status"], ["status", "7"], ["cancel", "7"], ["hold", "dome"], ["report"]]
)
def test_every_command_on_a_database_never_migrated_says_so_in_one_line(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from observatory.cli.main import main
    from observatory.settings import get_settings

    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OBSERVATORY_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        code = main(argv)
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "has no tables yet; run `observatory db upgrade`" in err
