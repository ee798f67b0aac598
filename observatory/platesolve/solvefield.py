"""astrometry.net's ``solve-field`` in a subprocess: the fallback solver.

It runs with the hints, in its own process group that is killed entirely when
``processor.solve_timeout_s`` passes (it spawns helpers that a plain kill would orphan).
Its index files are those of its own configuration (``/etc/astrometry.cfg``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from observatory.platesolve.hints import Hints
from observatory.settings import Settings


@dataclass(frozen=True)
class FieldSolution:
    wcs: WCS
    matched_stars: int


def solve_command(settings: Settings, image: Path, out_dir: Path, hints: Hints) -> list[str]:
    command = [
        settings.processor.solve_field, "--no-plots", "--overwrite", "--dir", str(out_dir),
        "--cpulimit", str(max(1, int(settings.processor.solve_timeout_s))),
    ]  # fmt: skip
    if hints.ra_deg is not None and hints.dec_deg is not None:
        command += ["--ra", f"{hints.ra_deg % 360.0:.6f}", "--dec", f"{hints.dec_deg:.6f}",
                    "--radius", f"{hints.radius_deg:g}"]  # fmt: skip
    scale = hints.scale_range_arcsec()
    if scale is not None:
        low, high = scale
        command += ["--scale-units", "arcsecperpix",
                    "--scale-low", f"{low:.4f}", "--scale-high", f"{high:.4f}"]  # fmt: skip
    return [*command, str(image)]


def run_solver(command: list[str], timeout_s: float) -> bool:
    """Run solve-field; True when it finished, False when it was killed at the timeout.

    Raises FileNotFoundError when the binary is missing and CalledProcessError when it
    exits with an error."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return False
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, output)
    return True


def solve_field(settings: Settings, image: Path, hints: Hints) -> FieldSolution | None:
    """Solve the FITS file ``image``; None when unsolved or killed at the timeout.
    Raises as ``run_solver``."""
    with tempfile.TemporaryDirectory(prefix="solve-") as scratch:
        out_dir = Path(scratch)
        finished = run_solver(
            solve_command(settings, image, out_dir, hints), settings.processor.solve_timeout_s
        )
        wcs_file, corr_file = out_dir / f"{image.stem}.wcs", out_dir / f"{image.stem}.corr"
        if not (finished and (out_dir / f"{image.stem}.solved").exists() and wcs_file.exists()):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(fits.getheader(wcs_file))
        matched = 0
        if corr_file.exists():
            with fits.open(corr_file, memmap=False) as hdus:
                matched = len(hdus[1].data)
    return FieldSolution(wcs, matched)
