"""A port out of range or a time scale that is not above zero is argparse's one line and
exit 2, before anything starts (they were tracebacks from bind() and pydantic)."""

from __future__ import annotations

import pytest

from observatory.cli.main import main


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
