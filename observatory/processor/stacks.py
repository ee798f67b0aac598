"""The stacking steps' units: master bias, master dark, flat-dark correction, master flat.

Each unit reads its group's raw frames from the batch folder on this host, writes its
products under ``products_dir/<batch>/`` (atomically, replacing an earlier run's) and
upserts their rows, so running a unit again never adds rows or files. A raw frame
normalised to [0, 1] (PixInsight, Siril) fails its unit as it is read (see
:mod:`observatory.processor.normalised`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from observatory import calibration
from observatory.calibration.screening import measure
from observatory.calibration.sources import FrameInput
from observatory.calibration.stacking import CombineMethod
from observatory.db import models
from observatory.db.session import read_scope
from observatory.errors import ConfigurationError, FrameMismatch, MasterFrameMissing
from observatory.processor import library
from observatory.processor.corrections import choose_masters, geometry_corrections
from observatory.processor.locate import batch_folder_here
from observatory.processor.plan import exposures_of, file_batch, names
from observatory.processor.products import (
    exposure_stem,
    load_master,
    product_file,
    store_master,
    write_product,
)
from observatory.processor.rawframes import raw_frame
from observatory.processor.screening import Screened, pixels, screen_flats, screen_group
from observatory.settings import Settings


class UnitContext:
    """What every unit loads first: its batch row, folder on this host and frames."""

    def __init__(self, settings: Settings, unit: dict[str, Any]) -> None:
        self.settings = settings
        self.group: dict[str, Any] = unit["group"]
        with read_scope(settings.sqlalchemy_url) as session:
            self.batch = file_batch(session, unit["batch"])
            self.exposures = exposures_of(session, self.batch.pk, unit["step"], self.group)
        self.folder = batch_folder_here(settings, self.batch.name, self.batch.path, unit["url"])

    def raw(self, exposure: models.Exposure) -> Path:
        return self.folder / exposure.path

    def frame(self, exposure: models.Exposure) -> FrameInput:
        """The exposure as the calibration functions read it (overscan subtracted and
        trimmed when it has a readout; else the raw file itself)."""
        return raw_frame(self.raw(exposure), exposure.readout)

    def stackable(self, exposure: models.Exposure, frame: FrameInput) -> Path:
        """A file of the exposure to combine, given its ``frame``: the raw file itself,
        or its overscan subtracted and trimmed copy written under ``<batch>/prepared/``
        (so that stacking reads tiles from disk instead of holding every frame in
        memory). The copy is scratch, read back at once and written again by any later
        run, so it is not synced to disk (about 9 ms a frame here, on the serial steps
        bias and dark)."""
        if not isinstance(frame, calibration.PreparedFrame):
            return self.raw(exposure)
        relative = f"{self.batch.name}/prepared/{exposure_stem(exposure)}.fits"
        return write_product(self.settings, relative, frame.data, frame.header, durable=False)

    def wanted(self, exposure: models.Exposure) -> library.Wanted:
        assert exposure.naxis1 is not None and exposure.naxis2 is not None
        return library.Wanted(
            self.batch.pk, exposure.binning, exposure.naxis1, exposure.naxis2,
            exposure.date_obs, exposure.filter, exposure.exptime_s, exposure.detector,
            exposure.camera_setup,
        )  # fmt: skip

    def require(self, minimum: int, what: str) -> None:
        if len(self.exposures) < minimum:
            raise FrameMismatch(
                f"{what}: {len(self.exposures)} usable frames, at least {minimum} are needed"
            )


def combine_options(settings: Settings) -> tuple[CombineMethod, calibration.SigmaClip | None]:
    """The combine method and clipping of the settings; ConfigurationError if unknown."""
    method = settings.processor.combine_method
    if method not in ("median", "mean", "sigma_clip"):
        raise ConfigurationError(
            f"processor.combine_method {method!r} is not median, mean or sigma_clip"
        )
    clip = None
    if method == "sigma_clip":
        p = settings.processor
        clip = calibration.SigmaClip(p.sigma_clip_low, p.sigma_clip_high)
    return method, clip  # type: ignore[return-value]


def _store(
    context: UnitContext, master: calibration.MasterFrame, screened: Screened
) -> dict[str, Any]:
    """Store the master; its header says how overscan and trim cut the inputs, the
    step's outputs which frames were left out and why."""
    applied, not_needed = geometry_corrections(context.exposures[0].readout)
    for correction in ("overscan", "trim"):
        outcome = "applied" if correction in applied else "not needed"
        why = applied.get(correction) or not_needed[correction]
        master.header.add_history(f"inputs {correction}: {outcome}: {why}")
    binning, detector = context.group["binning"], context.group.get("detector", "")
    stored = store_master(
        context.settings, context.batch, master, context.exposures, binning, detector
    )
    return {**stored, "left_out": screened.left_out}


def _screen(context: UnitContext, kind: str) -> tuple[Screened, list[Path]]:
    """Each frame of the group read once: measured for screening and made stackable;
    the group's flagged frames are left out of ``context.exposures`` (see
    :mod:`observatory.processor.screening`). Returns the screening and the files to
    combine, those of the frames kept."""
    levels, files = [], []
    for exposure in context.exposures:
        frame = context.frame(exposure)
        levels.append(measure(pixels(frame)))
        files.append(context.stackable(exposure, frame))
    screened = screen_group(context.settings, kind, context.exposures, levels)
    kept = [f for e, f in zip(context.exposures, files, strict=True) if e in screened.kept]
    context.exposures = screened.kept
    return screened, kept


def stack_bias(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    context = UnitContext(settings, unit)
    screened, files = _screen(context, "bias")
    context.require(settings.processor.min_bias_frames, f"bias group {unit['label']}")
    method, clip = combine_options(settings)
    master = calibration.make_master_bias(
        files, method=method, clip=clip,
        names=names(context.exposures),
    )  # fmt: skip
    return _store(context, master, screened)


def _bias_for(
    context: UnitContext, exposure: models.Exposure
) -> tuple[calibration.MasterFrame | None, str | None]:
    """The darks' master bias, or None and why when no batch or library holds one: the
    master dark then keeps the bias level (and serves only its own exposure)."""
    with read_scope(context.settings.sqlalchemy_url) as session:
        try:
            row = library.choose_bias(session, context.wanted(exposure))
        except MasterFrameMissing as error:
            return None, f"{error}: the bias level is in this dark"
    return load_master(context.settings, row), None


def _flat_masters(
    context: UnitContext, exposure: models.Exposure
) -> tuple[dict[str, calibration.MasterFrame], list[str]]:
    """The flat's master bias and dark by role, and a line for the dark (and for a bias
    not subtracted) saying what was done. A master is absent when its camera needs none,
    when a dark of the flat's exposure holds the bias level, or (under ``skip``) when
    none exists. Raises MasterFrameMissing under ``fail``."""
    chosen = choose_masters(context.settings, exposure, context.wanted(exposure), ("dark", "bias"))
    masters = {role: load_master(context.settings, row) for role, row in chosen.rows.items()}
    why = {**chosen.missing, **chosen.not_needed}
    dark = chosen.rows.get("dark")
    lines = [f"dark: not subtracted from this flat: {why['dark']}" if dark is None
             else f"dark: applied: {dark.path}"]  # fmt: skip
    if "bias" not in chosen.rows:
        lines.append(f"bias: not subtracted from this flat: {why['bias']}")
    return masters, lines


def stack_dark(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    context = UnitContext(settings, unit)
    screened, files = _screen(context, "dark")
    context.require(settings.processor.min_dark_frames, f"dark group {unit['label']}")
    method, clip = combine_options(settings)
    bias, bias_included = _bias_for(context, context.exposures[0])
    master = calibration.make_master_dark(
        files, bias, context.group["exptime_s"],
        filter_name=context.group.get("filter"), method=method, clip=clip,
        names=names(context.exposures),
    )  # fmt: skip
    stored = _store(context, master, screened)
    return stored if bias_included is None else {**stored, "bias_included": bias_included}


def corrected_flat_relative(batch: str, exposure: models.Exposure) -> str:
    """Where the flat-dark corrected copy of a raw flat is kept."""
    return f"{batch}/flat_dark/{exposure_stem(exposure)}.fits"


def _correct_one(context: UnitContext, exposure: models.Exposure) -> str:
    masters, history = _flat_masters(context, exposure)
    corrected = calibration.correct_flat(
        context.frame(exposure), masters.get("bias"), masters.get("dark"),
        exposure_s=exposure.exptime_s,
    )  # fmt: skip
    for line in history:
        corrected.header.add_history(line)
    relative = corrected_flat_relative(context.batch.name, exposure)
    write_product(context.settings, relative, corrected.data, corrected.header)
    return relative


def correct_flats(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    context = UnitContext(settings, unit)
    return {"corrected": [_correct_one(context, e) for e in context.exposures]}


def stack_flat(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    """A master flat from the group's flat-dark corrected flats; a corrected copy that
    is not on this host (made elsewhere) is made again here from the raw flat. Flagged
    flats (see :mod:`observatory.processor.screening`) are left out."""
    context = UnitContext(settings, unit)
    corrected = []
    for exposure in context.exposures:
        path = settings.products_dir / corrected_flat_relative(context.batch.name, exposure)
        if not path.exists():
            path = product_file(settings, _correct_one(context, exposure))
        corrected.append(path)
    screened = screen_flats(settings, context.exposures, corrected, context.folder)
    corrected = [p for e, p in zip(context.exposures, corrected, strict=True) if e in screened.kept]
    context.exposures = screened.kept
    context.require(settings.processor.min_flat_frames, f"flat group {unit['label']}")
    method, clip = combine_options(settings)
    master = calibration.make_master_flat(
        corrected, filter_name=context.group["filter"] or "", method=method, clip=clip,
        names=names(context.exposures),
    )  # fmt: skip
    return _store(context, master, screened)
