"""``observatory run``: one simulated night on the embedded stack, from work orders.

The night is a list of work orders submitted in turn to the running stack; each is waited
for and its outcome shown. What the night holds grows with the observatory: today the dome
opens, follows the telescope's pointings, closes and parks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import uuid
from typing import Any

from observatory.logs import configure_logging
from observatory.settings import get_settings
from observatory.stack import Stack

NIGHT: list[tuple[str, dict[str, Any]]] = [
    ("dome_status", {}),
    ("dome_open", {}),
    ("dome_goto", {"altitude_deg": 45.0, "azimuth_deg": 120.0}),
    ("dome_goto", {"altitude_deg": 60.0, "azimuth_deg": 250.0}),
    ("dome_close", {}),
    ("dome_park", {}),
    ("dome_status", {}),
]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("run", help="run one simulated night end to end")
    p.add_argument(
        "--time-scale",
        type=float,
        default=10.0,
        help="simulated seconds per real second (default 10)",
    )
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per work order")
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from observatory.cli.orders import submit_order, wait_for_outcome

    settings = get_settings()
    configure_logging("WARNING")
    settings = settings.model_copy(
        update={
            "simulator": settings.simulator.model_copy(
                update={"enabled": True, "time_scale": args.time_scale}
            )
        }
    )
    stack = Stack(settings, with_beat=False)
    started = time.monotonic()
    outcomes: list[tuple[str, str, float]] = []
    try:
        print("starting the embedded stack (Redis, SQLite, simulator, workers)...", flush=True)
        stack.start()
        night = uuid.uuid4().hex[:8]
        for number, (request, fields) in enumerate(NIGHT, 1):
            order = {
                "id": f"night-{night}-{number}",
                "request": request,
                "user": "night",
                "datetime": dt.datetime.now(dt.UTC).isoformat(),
                **fields,
            }
            t0 = time.monotonic()
            print(f"[{number}/{len(NIGHT)}] {request} {fields or ''}", end=" ", flush=True)
            receipt = submit_order(order, settings)
            state, reason = wait_for_outcome(settings, receipt.pk, args.timeout)
            elapsed = time.monotonic() - t0
            print(f"-> {state} in {elapsed:.1f} s{': ' + reason if reason else ''}", flush=True)
            outcomes.append((request, state, elapsed))
    finally:
        stack.stop()
    failed = [o for o in outcomes if o[1] != "succeeded"]
    print(
        f"\nnight summary: {len(outcomes)} work orders, {len(outcomes) - len(failed)} "
        f"succeeded, {len(failed)} failed, {time.monotonic() - started:.0f} s in all; "
        f"records in {settings.sqlalchemy_url}"
    )
    return 1 if failed or len(outcomes) < len(NIGHT) else 0
