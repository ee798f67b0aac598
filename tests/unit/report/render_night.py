"""Time the night report on a seeded night of large frames.

    python -m tests.unit.report.render_night --frames 20 --side 4096 /tmp/report-bench

Seeds a fresh SQLite database and products under the folder (float32 frames of
side x side pixels: 2 masters and N calibrated frames with a TAN WCS), then builds the
report twice (the first run pays for imports and font caches) and prints the times.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from observatory.db.migrate import upgrade
from observatory.report import write_report
from observatory.settings import load_settings
from tests.unit.report.seeding import NIGHT, seed_night


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--side", type=int, default=4096)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=False)
    url = f"sqlite:///{args.folder / 'observatory.db'}"
    upgrade(url)
    settings = load_settings(database_url=url, data_dir=args.folder)
    started = time.perf_counter()
    seed_night(url, settings.products_dir, (args.side, args.side), max(2, args.frames))
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    for run in ("first", "second"):
        written = write_report(settings, NIGHT, None)
        per_picture = written.seconds / max(1, written.pictures)
        print(
            f"{run} run: {written.pictures} pictures in {written.seconds:.2f} s "
            f"({per_picture:.2f} s each) -> {written.index_path}"
        )


if __name__ == "__main__":
    main()
