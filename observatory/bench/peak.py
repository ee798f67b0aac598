"""Peak memory of one combine, measured in a fresh process.

Run as ``python -m observatory.bench.peak METHOD ENGINE WARMUP_LIST FRAME_LIST`` (lists
are files of paths, one per line); prints one JSON object:

- ``process_peak_mib``: the peak resident size of the whole process (interpreter, numpy,
  astropy, numba, the compiled kernels and the combine): the figure to hold under the
  0.5 GB target, since that is what the machine has to provide;
- ``combine_growth_mib``: how far the resident size rose above its level just before
  the combine, i.e. what the combine itself needs (the float32 result plus buffers).

On Linux both come from ``/proc/self/status`` (VmHWM, VmRSS; the peak is reset through
``/proc/self/clear_refs`` before the combine). ``getrusage().ru_maxrss`` is not used
there because Linux carries it across ``exec`` from the parent that forked this process,
so it would report the parent's size. Resident size counts every page the process
touched; no file is memory-mapped (frames are read with pread), so no separate count of
mapped bytes is needed. Elsewhere ``ru_maxrss`` is reported, with that caveat.
"""

import json
import resource
import sys
from pathlib import Path

from observatory.calibration import combine_frames


def _status_kib(field: str) -> int | None:
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure(method: str, engine: str, warmup: list[str], frames: list[str]) -> dict[str, float]:
    """Combine ``warmup`` (loads compiled code), then ``frames``; return the figures."""
    combine_frames(warmup, method, engine=engine)  # type: ignore[arg-type]
    peak_before = _status_kib("VmHWM")
    resettable = _reset_peak()
    before = _status_kib("VmRSS")
    combine_frames(frames, method, engine=engine)  # type: ignore[arg-type]
    peak_after = _status_kib("VmHWM")
    if peak_before is None or peak_after is None or before is None or not resettable:
        # ru_maxrss is in KiB on Linux, bytes on macOS; see the caveat above.
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        return {"process_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale}
    return {
        "process_peak_mib": max(peak_before, peak_after) / 1024,
        "combine_growth_mib": (peak_after - before) / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    method, engine, warmup_list, frame_list = argv if argv is not None else sys.argv[1:]
    warmup = Path(warmup_list).read_text().split()
    frames = Path(frame_list).read_text().split()
    print(json.dumps(measure(method, engine, warmup, frames)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
