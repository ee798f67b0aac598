"""The stack's log files stay bounded over weeks: rotated at logs.max_mib, logs.keep kept."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from observatory.logfiles import generation, rotate_if_full
from observatory.settings import LogSettings, load_settings
from observatory.stack import Child, Stack
from tests.helpers import clean_observatory_env

# A child as chatty as a worker at INFO: a numbered 100-byte line every millisecond.
TALKER = (
    "import itertools, sys, time\n"
    "for n in itertools.count():\n"
    "    sys.stdout.write(f'{n:09d} ' + 'x' * 89 + '\\n'); sys.stdout.flush()\n"
    "    time.sleep(0.001)\n"
)


def test_a_log_below_its_size_is_left_alone_and_a_full_one_shifts_its_generations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "worker.log"
    assert not rotate_if_full(path, 10, 2)  # no file yet
    path.write_bytes(b"a" * 9)
    assert not rotate_if_full(path, 10, 2)
    for content in (b"first" * 2, b"second" * 2, b"third" * 4):
        path.write_bytes(content)
        assert rotate_if_full(path, 10, 2)
        assert path.stat().st_size == 0
    assert generation(path, 1).read_bytes() == b"third" * 4
    assert generation(path, 2).read_bytes() == b"second" * 2
    assert not generation(path, 3).exists()  # the oldest dropped


def test_keep_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep must be at least 1"):
        rotate_if_full(tmp_path / "x.log", 1, 0)


def test_the_stack_bounds_a_running_childs_log_and_the_child_writes_on_from_its_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_observatory_env(monkeypatch)
    max_bytes = 64 * 1024
    settings = load_settings(data_dir=tmp_path, logs=LogSettings(max_mib=max_bytes / 2**20, keep=2))
    stack = Stack(settings)
    stack._spawn(Child("talker", [sys.executable, "-c", TALKER]))
    path = stack.log_path("talker")
    try:
        deadline = time.monotonic() + 20.0
        while not generation(path, 2).exists() and time.monotonic() < deadline:
            stack.check()
            # Never far beyond the bound: what the child writes between two checks.
            assert path.stat().st_size < 8 * max_bytes
            time.sleep(0.05)
        assert generation(path, 2).exists(), "the log was not rotated twice in 20 s"
        pid = stack.children[0].process.pid  # type: ignore[union-attr]
        time.sleep(0.2)
        stack.check()
    finally:
        stack.stop(timeout_s=2.0)
    assert stack.children[0].process.pid == pid  # type: ignore[union-attr]
    assert not generation(path, 3).exists()
    # Appended, the child's lines start the emptied file: no hole of NUL bytes.
    current = path.read_bytes()
    assert current and b"\0" not in current
    # The generations hold the lines in order, none twice (a copy reading a line being
    # written may end on part of it: that is the last line of a generation).
    numbers = []
    for name in (generation(path, 2), generation(path, 1), path):
        lines = name.read_bytes().split(b"\n")
        assert all(len(line) == 99 for line in lines[:-1])
        numbers += [int(line.split()[0]) for line in lines[:-1]]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert len(numbers) > 3 * max_bytes // 100 // 2
