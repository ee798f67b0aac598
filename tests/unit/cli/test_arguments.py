"""A port out of range or a time scale that is not above zero is argparse's one line and
exit 2, before anything starts (they were tracebacks from bind() and pydantic)."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.cli.main import main
from observatory.settings import get_settings


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["api", "--port", "99999"], "--port: 99999 is not a port (0 to 65535)"),
        (["flower", "--port", "70000"], "--port: 70000 is not a port"),
        (["serve-files", "--port", "-5"], "--port: -5 is not a port"),
        (["simulate", "--port", "70000"], "--port: 70000 is not a port"),
        (["simulate", "--discovery-port", "x"], "--discovery-port: 'x' is not a port number"),
        (["simulate", "--time-scale", "0"], "--time-scale: 0 is not a number above 0"),
        (["run", "--time-scale", "0"], "--time-scale: 0 is not a number above 0"),
        (["run", "--time-scale", "-3"], "--time-scale: -3 is not a number above 0"),
        (["run", "--timeout", "nan"], "--timeout: nan is not a number above 0"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_a_bad_value_is_one_line_naming_the_option(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert named in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["api", "--port", "0"], ["simulate", "--port", "65535", "--time-scale", "0.5"]],
    ids=" ".join,
)
def test_good_values_parse(argv: list[str]) -> None:
    from observatory.cli.main import build_parser

    args = build_parser().parse_args(argv)
    assert 0 <= args.port <= 65535


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["dome", "--timeout", "-1", "status"], "--timeout: -1 is not a number above 0"),
        (["dome", "status", "--timeout", "nan"], "--timeout: nan is not a number above 0"),
        (["submit", "-", "--wait", "--timeout", "-5"], "--timeout: -5 is not a number above 0"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_a_wait_that_is_not_above_zero_is_refused_before_an_order_is_stored(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A negative --timeout stored an order and cancelled it at once; nan waited for ever.
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert named in capsys.readouterr().err


@pytest.mark.parametrize(
    ("suite", "option"),
    # --orders 0 divided by zero after the overhead suite's stack had started; --frames 0
    # and --size 0 were tracebacks from the calibration suite.
    [("overhead", "--orders"), ("calibration", "--frames"), ("calibration", "--size")],
)
def test_bench_refuses_nothing_to_measure_in_one_line(
    suite: str, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bench", "--only", suite, option, "0"])
    assert exited.value.code == 2
    assert f"{option}: '0' is not a whole number of at least 1" in capsys.readouterr().err


def test_a_report_folder_that_cannot_be_made_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    try:
        assert main(["report", "2026-11-23", "--output", str(blocker / "report")]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"--output {blocker / 'report'}: the folder cannot be made: Not a directory" in err
