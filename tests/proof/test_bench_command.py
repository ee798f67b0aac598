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
