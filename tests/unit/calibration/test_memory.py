"""Memory stays bounded whatever the number of frames: tile sizes come from a byte
budget, and a real combine in a fresh process stays well under the frames' size."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from observatory.calibration import tile_rows_for_budget
from tests.unit.calibration.conftest import write_frames


def test_tile_rows_follow_the_byte_budget():
    # 20 frames x 4096 columns x 6 bytes = 491,520 bytes per row of tile.
    assert tile_rows_for_budget(20, 4096, 6, 64 * 2**20) == 136
    assert tile_rows_for_budget(20, 4096, 6, 491_520) == 1
    assert tile_rows_for_budget(20, 4096, 6, 491_519) == 1  # never less than a row
    assert tile_rows_for_budget(40, 4096, 6, 64 * 2**20) == 68  # twice the frames, half
    with pytest.raises(ValueError):
        tile_rows_for_budget(0, 4096, 6, 2**20)


PEAK_SCRIPT = """
import json, sys
import numpy as np
from observatory.calibration import combine_frames
paths, small, engine = sys.argv[1].split(","), sys.argv[2].split(","), sys.argv[3]
budget = int(sys.argv[4])

def status_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

combine_frames(small, "median", engine=engine)  # load the compiled code on tiny frames
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak (VmHWM) to the current resident size
before = status_kib("VmRSS")
result = combine_frames(paths, "median", engine=engine, memory_budget_bytes=budget)
growth = status_kib("VmHWM") - before
print(json.dumps({"growth_kib": growth, "median": float(np.median(result))}))
"""


@pytest.mark.parametrize(("engine", "limit_mib"), [("numba", 12), ("numpy", 24)])
def test_peak_memory_of_a_combine_stays_far_below_the_frames(tmp_path, rng, engine, limit_mib):
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux /proc/self/clear_refs to reset the peak resident size")
    # 24 frames of 1024 x 1024 uint16: 48 MiB on disk, 192 MiB as a float64 stack.
    frame = rng.normal(1000, 10, (1024, 1024)).astype(np.uint16)
    paths = write_frames(tmp_path, [frame + k for k in range(24)])
    small = write_frames(tmp_path, [frame[:8, :8]] * 3, prefix="small")
    arguments = [",".join(map(str, paths)), ",".join(map(str, small)), engine, str(8 << 20)]
    command = [sys.executable, "-c", PEAK_SCRIPT, *arguments]
    report = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    # The float32 result alone is 4 MiB; a whole float64 stack would be 192 MiB.
    assert report["growth_kib"] < limit_mib * 1024, report
    assert report["median"] == pytest.approx(float(np.median(frame)) + 11.5)
