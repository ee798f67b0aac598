"""``observatory bench`` runs its suites side by side and writes one JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatory.cli.main import main


def test_overhead_suite_measures_work_orders_against_bare_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bench.json"
    command = ["bench", "--only", "overhead", "--orders", "5", "--http-orders", "40"]
    assert main([*command, "--json", str(target)]) == 0
    figures = json.loads(target.read_text())["overhead"]
    assert figures["count"] == 5
    for key in ("bare_latency_median_s", "work_order_latency_median_s"):
        assert 0 < figures[key] < 5, key
    # Ratios are computed from the two measured paths, not copied from either.
    assert figures["latency_ratio"] == pytest.approx(
        figures["work_order_latency_median_s"] / figures["bare_latency_median_s"]
    )
    assert figures["throughput_ratio"] == pytest.approx(
        figures["bare_per_second"] / figures["work_order_per_second"]
    )
    http = figures["http_burst"]
    assert http["orders"] == http["stored"] == 40 and http["clients"] == 8 and http["lost"] == 0
    assert http["published_receipts"] == 40 and http["per_second"] > 0
    assert "work-order overhead" in capsys.readouterr().out


def test_processor_suite_takes_a_night_of_the_length_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--lights`` sets the lights per filter of the night the processor suite takes; the
    speed-ups are the ratios of the walls measured."""
    target = tmp_path / "bench.json"
    command = ["bench", "--only", "processor", "--lights", "1", "--repeats", "2",
               "--workdir", str(tmp_path)]  # fmt: skip
    assert main([*command, "--json", str(target)]) == 0
    figures = json.loads(target.read_text())["processor"]
    assert figures["frames"]["light"] == len(figures["filters"]) == 2
    for suffix in ("", "_shared_host"):
        one, two = figures[f"one_worker{suffix}"], figures[f"two_workers{suffix}"]
        assert (one["workers"], two["workers"]) == (1, 2)
        assert one["state"] == two["state"] == "succeeded"
        assert figures[f"speedup{suffix}"] == pytest.approx(one["wall_s"] / two["wall_s"], 1e-3)
        # Batch by batch: the pairs run side by side, in the order of the walls.
        pairs = [a / b for a, b in zip(one["walls_s"], two["walls_s"], strict=True)]
        assert figures[f"pair_speedups{suffix}"] == pytest.approx(pairs, 1e-3)
        # Two timed batches each: the figures are the later middle one's, the slower.
        for run in (one, two):
            assert len(run["walls_s"]) == 2 and run["wall_s"] == max(run["walls_s"])
        # The bound: what no step of several units takes (transfer, ingest, bias, dark:
        # one unit each on this night) stays one worker's.
        units = {"transfer": 1, "ingest": 1, "bias": 1, "dark": 1,
                 "flat_dark": 2, "flat": 2, "light": 2, "astrometry": 2}  # fmt: skip
        assert one["step_units"] == units
        bound = figures[f"bound{suffix}"]
        split = sum(one["steps_s"][step] for step in ("flat_dark", "flat", "light", "astrometry"))
        assert bound["split_s"] == pytest.approx(split, abs=1e-3)
        assert bound["serial_s"] == pytest.approx(one["wall_s"] - split, abs=1e-3)
        assert bound["bound"] == pytest.approx(
            one["wall_s"] / (bound["serial_s"] + bound["split_s"] / 2), 1e-2
        )
    scaling = figures["cpu_scaling"]
    assert len(scaling["alone_s"]) == len(scaling["together_s"]) == 5
    assert 0.5 < scaling["scaling"] <= 2.5
    printed = capsys.readouterr().out
    assert "this machine: a CPU-bound loop on two CPUs at once does" in printed
    assert "one worker process against two; median of 2 batches each, run in pairs" in printed
    assert "batch by batch: " in printed
    assert "bound, with what is not" in printed
