"""``observatory bench``: a count that is not a whole number of at least 1 is refused
before anything runs, in one line naming the option and the value."""

from __future__ import annotations

import pytest

from observatory.cli.main import main as cli_main


@pytest.mark.parametrize(
    ("option", "value"),
    [("--lights", "0"), ("--lights", "x"), ("--repeats", "0"), ("--repeats", "-2")],
)
def test_a_count_below_one_is_refused_in_one_line(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli_main(["bench", "--only", "processor", option, value])
    assert exit_.value.code == 2
    printed = capsys.readouterr().err
    assert "Traceback" not in printed
    error = printed.strip().splitlines()[-1]
    assert error.endswith(f"argument {option}: {value!r} is not a whole number of at least 1")
