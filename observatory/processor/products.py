"""Where products live and how they are stored and found again on any host.

Products are files under ``settings.products_dir / <batch name> /``; SQL rows hold paths
relative to ``products_dir`` and the ``origin_url`` of the file server of the host that
wrote them, so a worker on another host reads a master from its own disk when present,
else fetches it from ``origin_url + "/products/" + path``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from observatory import calibration
from observatory.calibration.dark import bias_included
from observatory.db import models
from observatory.db.models import BIAS_INCLUDED_STAT
from observatory.db.queries import upsert_master_frame
from observatory.db.session import session_scope
from observatory.errors import MasterFrameMissing, ObservatoryError
from observatory.settings import Settings
from observatory.storage import FITS_BLOCK, require_free
from observatory.transfer import fetch_file
from observatory.transfer.listing import frame_stem

log = logging.getLogger(__name__)


def product_file(settings: Settings, relative: str) -> Path:
    """The absolute path of a product, its folder created."""
    path = settings.products_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_product(
    settings: Settings, relative: str, data: np.ndarray, header: fits.Header, durable: bool = True
) -> Path:
    """Write a product at ``relative`` (float32, atomically, see
    :func:`observatory.calibration.write_product`), replacing an earlier run's, once its
    folder is known to keep ``min_free_mib`` after it (else :class:`StorageFull`)."""
    path = product_file(settings, relative)
    needed = data.size * np.dtype(np.float32).itemsize + 2 * FITS_BLOCK
    require_free(settings, path.parent, needed, f"product {relative}")
    return calibration.write_product(path, data, header, overwrite=True, durable=durable)


def master_relative_path(
    batch: str,
    kind: str,
    binning: int,
    size: tuple[int, int],
    filter_name: str | None = None,
    exptime_s: float | None = None,
    detector: str = "",
    camera_setup: str = "",
) -> str:
    """E.g. ``20261123-obs-42/master_dark_30s_bin1_1024x1024.fits`` (``size``: naxis1,
    naxis2; a batch may hold a group in two sizes, a full frame and a subframe); one
    detector of a multi-extension camera: ``.../master_bias_bin1_im2_2048x4096.fits``;
    a camera setup (processor.setups) ``gain 100, offset 50, rows top-down``:
    ``.../master_bias_bin1_gain100_offset50_topdown_1024x1024.fits``."""
    parts = [f"master_{kind}"]
    if filter_name:
        parts.append(filter_name)
    if exptime_s is not None and kind == "dark":
        parts.append(f"{exptime_s:g}s")
    parts.append(f"bin{binning}")
    if detector:
        parts.append(detector)
    parts.extend(_setup_tag(setting) for setting in filter(None, camera_setup.split(", ")))
    parts.append(f"{size[0]}x{size[1]}")
    return f"{batch}/{'_'.join(parts)}.fits"


def _setup_tag(setting: str) -> str:
    """One setting of a camera setup as a file name's part: ``gain 100`` -> ``gain100``,
    ``origin 48,32`` -> ``origin48-32``, ``rows top-down`` -> ``topdown``."""
    if setting.startswith("rows "):
        setting = setting.removeprefix("rows ").replace("-", "")
    return re.sub(r"[^\w.+-]", "", setting.replace(",", "-"))


def exposure_stem(exposure: models.Exposure) -> str:
    """The name the products of one exposure share: the raw file's (subfolders kept,
    see ``frame_stem``), with ``.<detector>`` for one extension of a multi-extension
    file (``science/m31_001.im2``)."""
    stem = frame_stem(exposure.path)
    return f"{stem}.{exposure.detector}" if exposure.detector else stem


def mid_time(exposures: Sequence[models.Exposure]) -> dt.datetime:
    """The middle of the inputs' start times."""
    times = sorted(e.date_obs for e in exposures)
    return times[0] + (times[-1] - times[0]) / 2


def store_master(
    settings: Settings,
    batch: models.FileBatch,
    master: calibration.MasterFrame,
    inputs: Sequence[models.Exposure],
    binning: int,
    detector: str = "",
) -> dict[str, Any]:
    """Write ``master`` under the batch's products (replacing an earlier run's file
    atomically) and upsert its ``master_frames`` row; returns a summary for the step.
    ``detector`` names the detector of a multi-extension camera it calibrates; the
    master has its inputs' camera setup (one for a group, see processor.setups)."""
    naxis2, naxis1 = (int(n) for n in master.data.shape)
    setup = inputs[0].camera_setup if inputs else ""
    relative = master_relative_path(
        batch.name, master.kind, binning, (naxis1, naxis2), master.filter_name,
        master.exposure_s, detector, setup,
    )  # fmt: skip
    header = master.header.copy()
    header["BATCH"] = (batch.name, "file batch of the inputs")
    if detector:
        header["DETNAME"] = (detector, "detector (extension) it calibrates")
    if setup:
        header["CAMSETUP"] = (setup, "gain, offset, origin of the inputs")
    header["XBINNING"] = (binning, "binning of the inputs")
    header["YBINNING"] = (binning, "binning of the inputs")
    write_product(settings, relative, master.data, header)
    with session_scope(settings.sqlalchemy_url) as session:
        row = upsert_master_frame(
            session,
            kind=master.kind,
            file_batch_pk=batch.pk,
            filter=master.filter_name or None,
            exptime_s=master.exposure_s,
            binning=binning,
            detector=detector,
            camera_setup=setup,
            naxis1=naxis1,
            naxis2=naxis2,
            path=relative,
            n_inputs=len(inputs),
            inputs=[e.pk for e in inputs],
            stats=_statistics(master),
            method=str(header.get("COMBMETH", "")),
            date_obs=mid_time(inputs),
            is_bad=False,
            origin_url=settings.fileserver.public_url,
        )
        pk = row.pk
    log.info("master %s stored as %s (%d inputs)", master.kind, relative, len(inputs))
    return {"pk": pk, "path": relative, "inputs": len(inputs)}


def _statistics(master: calibration.MasterFrame) -> dict[str, Any]:
    """The row's ``stats``: the master's statistics, and for a dark that keeps the bias
    level, that it does (so that choosing a dark to scale can pass it over)."""
    stats = dict(vars(master.statistics))
    if master.kind == "dark" and bias_included(master):
        stats[BIAS_INCLUDED_STAT] = True
    return stats


def product_here(settings: Settings, relative: str, origin_url: str | None) -> Path:
    """The product at ``relative`` on this host: from this host's products, else fetched
    now from ``origin_url + "/products/" + relative``. Raises ObservatoryError when it is
    not here and ``origin_url`` is None, and what the transfer raises when the fetch
    fails."""
    local = settings.products_dir / relative
    if not local.exists():
        if not origin_url:
            raise ObservatoryError(
                f"product {relative} is not on this host and no file server holds it"
            )
        url = f"{origin_url.rstrip('/')}/products/{relative}"
        log.info("fetching product %s from %s", relative, url)
        local.parent.mkdir(parents=True, exist_ok=True)
        fetch_file(settings, url, local, None, None)
    return local


# Masters read by this process, by file (path, inode, size, modification time): every
# light of a batch uses the same three. A master rewritten by a re-run is a new file, so
# it is read again. The arrays are read-only, so no user can change a copy
# that others share.
_MASTERS: dict[tuple[str, int, int, int], calibration.MasterFrame] = {}
_MASTERS_KEPT = 8


def load_master(settings: Settings, row: models.MasterFrame) -> calibration.MasterFrame:
    """The master of ``row``, from this host's products or fetched from its origin.

    Its ``name`` is the relative path (what provenance headers cite); its data are
    read-only (shared with later calls in this process). Raises MasterFrameMissing when
    the file is neither here nor fetchable, and what the transfer raises when the fetch
    fails."""
    if not (settings.products_dir / row.path).exists() and not row.origin_url:
        raise MasterFrameMissing(
            f"master {row.path} is not on this host and no file server holds it"
        )
    local = product_here(settings, row.path, row.origin_url)
    stat = local.stat()
    key = (str(local), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    master = _MASTERS.get(key)
    if master is None:
        master = calibration.read_master_frame(local)
        master.data.flags.writeable = False
        while len(_MASTERS) >= _MASTERS_KEPT:
            del _MASTERS[next(iter(_MASTERS))]
        _MASTERS[key] = master
    return calibration.MasterFrame(
        master.kind, master.data, master.header.copy(), master.statistics,
        master.exposure_s, master.filter_name, row.path,
    )  # fmt: skip
