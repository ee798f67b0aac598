"""Calibration benchmark: combine and calibrate seeded uint16 FITS frames, measured side
by side with the time it takes merely to read them.

Every time is the best of ``repeats`` runs (wall clock) after a warm-up run, with the
frames already in the page cache, so ratios compare like with like on a shared machine.
The read bound reads each file whole into a preallocated buffer with no parsing at all
(the least work that brings every byte into the process), with one thread and with as
many threads as the kernels use; the faster is the bound. Every other figure is a
ratio to it or an absolute time.
"""

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numba
import numpy as np
from astropy.io import fits

from observatory import __version__
from observatory.calibration import (
    MasterFrame,
    SigmaClip,
    calibrate_light,
    combine_frames,
    frame_statistics,
    reference,
    write_product,
)
from observatory.calibration.checksums import spans_of, verify_file
from observatory.calibration.overscan import Amplifier, Readout
from observatory.calibration.screening import MAX_SAMPLES, measure
from observatory.calibration.sections import parse_section

TARGETS = {
    "median_vs_read": 2.0,
    "sigma_clip_vs_read": 3.0,
    "ccdproc_vs_median": 50.0,
    "peak_memory_mib": 512.0,
    "light_s": 0.1,
    "light_overscan_s": 0.1,
}
# Overscan columns right of the data in the overscan light (a common CCD layout).
OVERSCAN_COLUMNS = 64


def write_frames(
    folder: Path, frame_count: int, size: int, seed: int = 1, prefix: str = "bench"
) -> list[Path]:
    """Seeded uint16 bias-like frames (level 1000 adu, read noise 10 adu, a few cosmic
    rays) written with BZERO=32768 as a camera does; returns their paths."""
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(frame_count):
        frame = rng.standard_normal((size, size), dtype=np.float32) * 10 + 1000
        hits = rng.integers(0, size, (2, max(1, size * size // 20000)))
        frame[hits[0], hits[1]] = 30000
        header = fits.Header({"IMAGETYP": "BIAS", "EXPTIME": 30.0})
        path = folder / f"{prefix}{index:03d}.fits"
        fits.PrimaryHDU(frame.astype(np.uint16), header=header).writeto(path)
        paths.append(path)
    return paths


def best_time(action: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` runs [s]."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def read_all(paths: list[Path], buffer: bytearray) -> None:
    """Read every file whole into ``buffer`` (reused, large enough), one after another."""
    view = memoryview(buffer)
    for path in paths:
        with open(path, "rb", buffering=0) as handle:
            handle.readinto(view[: os.fstat(handle.fileno()).st_size])


def read_all_parallel(paths: list[Path], buffers: list[bytearray]) -> None:
    """The same with one thread per buffer (the kernels read with every core too)."""
    shares = [paths[k :: len(buffers)] for k in range(len(buffers))]
    with ThreadPoolExecutor(len(buffers)) as pool:
        list(pool.map(read_all, shares, buffers))


def peak_memory(paths: list[Path], folder: Path, method: str, engine: str) -> dict[str, float]:
    """Run one combine in a fresh process (see ``observatory.bench.peak``)."""
    warmup_list, frame_list = folder / "warmup.txt", folder / "frames.txt"
    warmup = write_frames(folder, 3, 16, seed=2, prefix="warmup")
    warmup_list.write_text("\n".join(map(str, warmup)))
    frame_list.write_text("\n".join(map(str, paths)))
    command = [sys.executable, "-m", "observatory.bench.peak", method, engine]
    done = subprocess.run(
        [*command, str(warmup_list), str(frame_list)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"peak-memory run failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def write_overscan_light(folder: Path, size: int, seed: int = 2) -> tuple[Path, Readout]:
    """A seeded uint16 light of ``size`` x ``size`` data pixels plus OVERSCAN_COLUMNS
    overscan columns (fewer for tiny test frames, so the strip stays taller than wide;
    BZERO=32768, as a camera writes it), and its readout."""
    rng = np.random.default_rng(seed)
    columns = min(OVERSCAN_COLUMNS, max(2, size // 8))
    frame = rng.standard_normal((size, size + columns), dtype=np.float32) * 10
    frame[:, :size] += 3000
    frame += 1000 + np.linspace(0, 5, size, dtype=np.float32)[:, None]
    path = folder / "overscan_light.fits"
    header = fits.Header({"IMAGETYP": "LIGHT", "EXPTIME": 60.0})
    fits.PrimaryHDU(frame.astype(np.uint16), header=header).writeto(path)
    data = parse_section(f"[1:{size},1:{size}]")
    scan = parse_section(f"[{size + 1}:{size + columns},1:{size}]")
    return path, Readout((Amplifier(data, scan, (0, 0)),), (size, size))


def synthetic_masters(size: int) -> tuple[MasterFrame, MasterFrame, MasterFrame]:
    """Bias, dark (60 s) and flat masters of plausible values for the light timing."""
    statistics = frame_statistics(np.ones(1), 1)
    header = fits.Header()
    rng = np.random.default_rng(3)
    bias = np.full((size, size), 1000, np.float32)
    dark = rng.uniform(0, 5, (size, size)).astype(np.float32)
    flat = rng.uniform(0.9, 1.1, (size, size)).astype(np.float32)
    return (
        MasterFrame("bias", bias, header, statistics, 0.0),
        MasterFrame("dark", dark, header, statistics, 60.0),
        MasterFrame("flat", flat, header, statistics, None),
    )


def run_calibration_benchmark(
    frame_count: int = 20,
    size: int = 4096,
    workdir: Path | None = None,
    include_ccdproc: bool = True,
    repeats: int = 3,
) -> dict[str, Any]:
    """Measure reading, combining (both engines) and light calibration; returns figures.

    Frames are written into a temporary folder (inside ``workdir`` when given) and
    removed afterwards. ccdproc at 20 x 4096 x 4096 takes about 30 s and 5 GB.
    """
    if include_ccdproc and importlib.util.find_spec("ccdproc") is None:
        raise RuntimeError("ccdproc is not installed: install it or pass include_ccdproc=False")
    results: dict[str, Any] = {
        "frames": frame_count,
        "size": size,
        "repeats": repeats,
        "version": __version__,
        "threads": numba.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="calibration-bench-", dir=workdir) as folder_name:
        folder = Path(folder_name)
        paths = write_frames(folder, frame_count, size)
        buffer = bytearray(max(path.stat().st_size for path in paths))
        read_all(paths, buffer)  # into the page cache
        buffers = [buffer] + [bytearray(len(buffer)) for _ in range(numba.get_num_threads() - 1)]
        times: dict[str, float] = {
            "read_serial": best_time(lambda: read_all(paths, buffer), repeats),
            "read_parallel": best_time(lambda: read_all_parallel(paths, buffers), repeats),
        }
        # The read bound is the faster way of merely reading every byte.
        times["read"] = min(times["read_serial"], times["read_parallel"])
        runs: dict[str, Callable[[], object]] = {
            "median": lambda: combine_frames(paths, "median"),
            "mean": lambda: combine_frames(paths, "mean"),
            "sigma_clip": lambda: combine_frames(paths, "sigma_clip", clip=SigmaClip()),
        }
        for name, action in runs.items():
            action()  # warm-up: compiled code loaded, buffers touched
            times[name] = best_time(action, repeats)
        for method in ("median", "mean", "sigma_clip"):
            # Slow at full size: one run, after the compiled engine warmed the cache.
            start = time.perf_counter()
            combine_frames(paths, method, engine="numpy")
            times[f"{method}_numpy"] = time.perf_counter() - start
        bias, dark, flat = synthetic_masters(size)
        for engine, key in (("numba", "light"), ("numpy", "light_numpy")):

            def light(engine: Any = engine) -> object:
                return calibrate_light(paths[0], bias, dark, flat, engine=engine)

            light()
            times[key] = best_time(light, repeats)
        raw, readout = write_overscan_light(folder, size)

        def light_overscan() -> object:
            return calibrate_light(raw, bias, dark, flat, readout=readout)

        light_overscan()
        times["light_overscan"] = best_time(light_overscan, repeats)
        # The statistics every product carries (a master's or a calibrated light's).
        product = calibrate_light(paths[0], bias, dark, flat).data
        for key, statistics in (
            ("statistics", lambda: frame_statistics(product, 1)),
            ("statistics_numpy", lambda: reference.median_and_mad(product)),
        ):
            statistics()
            times[key] = best_time(statistics, repeats)
        times |= _ingest_and_screening_times(folder, paths[0], product, repeats)
        results["peak_memory"] = peak_memory(paths, folder, "median", "numba")
        if include_ccdproc:
            times["ccdproc_median"], results["ccdproc_equal"] = _time_ccdproc(paths)
    results["load_average_end"] = os.getloadavg()
    results["seconds"] = times
    results["ratios"] = _ratios(times, results["peak_memory"])
    return results


def _ingest_and_screening_times(
    folder: Path, raw: Path, product: np.ndarray, repeats: int
) -> dict[str, float]:
    """What the processor does to every file and calibration frame before calibrating:
    the checksums of a product verified (at ingest), and a raw frame's level and noise
    measured (before stacking); ours and astropy's, side by side."""
    checked = write_product(folder / "checked.fits", product, fits.Header())
    with fits.open(checked, memmap=False) as hdus:
        spans = spans_of(hdus)

    def astropy_checksums() -> None:
        with fits.open(checked, checksum=True, memmap=False) as hdus:
            hdus.readall()

    data = fits.getdata(raw)
    stride = max(1, math.isqrt(data.size // MAX_SAMPLES))
    runs: dict[str, Callable[[], object]] = {
        "checksums": lambda: verify_file(checked, spans),
        "checksums_astropy": astropy_checksums,
        "screening": lambda: measure(data),
        "screening_astropy": lambda: reference.clipped_level(data, stride),
    }
    times = {}
    for key, action in runs.items():
        action()
        times[key] = best_time(action, repeats)
    return times


def _time_ccdproc(paths: list[Path]) -> tuple[float, bool]:
    import ccdproc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        theirs = ccdproc.combine([str(p) for p in paths], method="median", unit="adu")
        elapsed = time.perf_counter() - start
    ours = combine_frames(paths, "median", dtype=np.float64)
    return elapsed, bool(np.array_equal(ours, theirs.data))


def _ratios(times: dict[str, float], memory: dict[str, float]) -> dict[str, float]:
    ratios = {
        "median_vs_read": times["median"] / times["read"],
        "mean_vs_read": times["mean"] / times["read"],
        "sigma_clip_vs_read": times["sigma_clip"] / times["read"],
        "median_numpy_vs_numba": times["median_numpy"] / times["median"],
        "mean_numpy_vs_numba": times["mean_numpy"] / times["mean"],
        "sigma_clip_numpy_vs_numba": times["sigma_clip_numpy"] / times["sigma_clip"],
        "light_numpy_vs_numba": times["light_numpy"] / times["light"],
        "light_s": times["light"],
        "light_overscan_s": times["light_overscan"],
        "statistics_numpy_vs_ours": times["statistics_numpy"] / times["statistics"],
        "checksums_astropy_vs_ours": times["checksums_astropy"] / times["checksums"],
        "screening_astropy_vs_ours": times["screening_astropy"] / times["screening"],
        "peak_memory_mib": memory["process_peak_mib"],
    }
    if "ccdproc_median" in times:
        ratios["ccdproc_vs_median"] = times["ccdproc_median"] / times["median"]
    return ratios


def format_table(results: dict[str, Any]) -> str:
    """The figures as a plain-text table, one line per measure, with the targets."""
    seconds, ratios = results["seconds"], results["ratios"]
    rows = [
        ("read N frames, one thread", _ms(seconds["read_serial"]), "", ""),
        (
            f"read N frames, {results['threads']} threads",
            _ms(seconds["read_parallel"]),
            "",
            "",
        ),
        ("read bound (faster of the two)", _ms(seconds["read"]), "1.00x", ""),
        (
            "median combine (numba)",
            _ms(seconds["median"]),
            _x(ratios, "median_vs_read"),
            "<= 2x read",
        ),
        ("mean combine (numba)", _ms(seconds["mean"]), _x(ratios, "mean_vs_read"), ""),
        (
            "sigma-clipped mean (numba)",
            _ms(seconds["sigma_clip"]),
            _x(ratios, "sigma_clip_vs_read"),
            "<= 3x read",
        ),
        _slower(seconds, ratios, "median, numpy engine", "median_numpy", "numba"),
        _slower(seconds, ratios, "mean, numpy engine", "mean_numpy", "numba"),
        _slower(seconds, ratios, "sigma-clip, numpy engine", "sigma_clip_numpy", "numba"),
        ("calibrate one light (numba)", _ms(seconds["light"]), "", "< 0.1 s"),
        (
            "overscan + trim + calibrate one light",
            _ms(seconds["light_overscan"]),
            f"{seconds['light_overscan'] / seconds['light']:.2f}x light",
            "< 0.1 s",
        ),
        _slower(seconds, ratios, "calibrate one light (numpy)", "light_numpy", "numba"),
        (
            "statistics of one product (all of them)",
            _ms(seconds["statistics"]),
            "",
            "",
        ),
        _slower(seconds, ratios, "median and MAD by np.median", "statistics_numpy", "ours"),
        ("verify one product's checksums", _ms(seconds["checksums"]), "", ""),
        _slower(seconds, ratios, "  by astropy (checksum=True)", "checksums_astropy", "ours"),
        ("level and noise of one raw frame", _ms(seconds["screening"]), "", ""),
        _slower(seconds, ratios, "  by astropy's sigma_clipped_stats", "screening_astropy", "ours"),
        ("peak memory, median (process)", f"{ratios['peak_memory_mib']:.0f} MiB", "", "< 512 MiB"),
        ("  of which the combine itself", _growth(results["peak_memory"]), "", ""),
    ]
    if "ccdproc_median" in seconds:
        rows.append(
            (
                "ccdproc.combine median",
                _ms(seconds["ccdproc_median"]),
                _x(ratios, "ccdproc_vs_median") + " of ours",
                f">= 50x; bit-equal: {results['ccdproc_equal']}",
            )
        )
    width = max(len(row[0]) for row in rows)
    header = (
        f"{results['frames']} frames of {results['size']}x{results['size']} uint16, "
        f"best of {results['repeats']}, {results['threads']} threads, load average "
        f"{results['load_average_start'][0]:.2f} -> {results['load_average_end'][0]:.2f}"
    )
    lines = [header, ""]
    lines += [
        f"{name:<{width}}  {value:>10}  {ratio:<16}  {target}"
        for name, value, ratio, target in rows
    ]
    return "\n".join(lines)


def _slower(
    seconds: dict[str, float], ratios: dict[str, float], name: str, key: str, of: str
) -> tuple[str, str, str, str]:
    """A table row: the time of ``key``, and how many times that of ``of`` (ours or
    numba) it is (ratio ``<key>_vs_<ours|numba>``)."""
    return (name, _ms(seconds[key]), _x(ratios, f"{key}_vs_{of}") + f" of {of}", "")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _growth(memory: dict[str, float]) -> str:
    growth = memory.get("combine_growth_mib")
    return "n/a" if growth is None else f"{growth:.0f} MiB"


def _x(ratios: dict[str, float], key: str) -> str:
    return f"{ratios[key]:.2f}x"


def positive_int(text: str) -> int:
    """An option's whole number of at least 1 (argparse type)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The calibration benchmark's options, on the ``observatory bench`` parser."""
    parser.add_argument("--frames", type=positive_int, default=20, help="frames to combine (20)")
    parser.add_argument(
        "--size", type=positive_int, default=4096, help="frame side in pixels (4096)"
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=3,
        help="runs per timing: the best kept (3; the processor suite keeps the median batch)",
    )  # fmt: skip
    parser.add_argument("--workdir", type=Path, help="where the temporary frames go")
    parser.add_argument("--no-ccdproc", action="store_true", help="skip ccdproc (~30 s, 5 GB)")


def run_from_options(options: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with the options of :func:`add_arguments`."""
    return run_calibration_benchmark(
        frame_count=options.frames,
        size=options.size,
        workdir=options.workdir,
        include_ccdproc=not options.no_ccdproc,
        repeats=options.repeats,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m observatory.bench.calibration``: print the table, write the figures."""
    parser = argparse.ArgumentParser(prog="observatory bench", description=__doc__)
    add_arguments(parser)
    parser.add_argument(
        "--json", type=Path, default=Path("var/bench/calibration.json"), help="figures file"
    )
    options = parser.parse_args(argv)
    results = run_from_options(options)
    print(format_table(results))
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nfigures written to {options.json}")
    return 0
