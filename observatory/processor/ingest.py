"""The ``ingest`` step: every file of a batch into ``exposures``, rejected ones with why.

Rows are upserted on (batch, path, detector): a re-run, or a batch whose exposures the
telescope already recorded, updates rows in place and never adds a second one. A
multi-extension file calibrated extension by extension has one row per detector.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from observatory.db.models import Exposure, ExposureState, FileBatch, FileBatchState
from observatory.db.session import session_scope
from observatory.hashing import sha256_of
from observatory.processor.headers import ExposureRejected, read_exposures
from observatory.processor.locate import LocatedBatch
from observatory.processor.profiles import Profiles, load_profiles
from observatory.processor.upsert import upsert_many
from observatory.settings import Settings
from observatory.transfer.listing import list_folder, shared_stems

log = logging.getLogger(__name__)

# Ignored files named in the step's outputs; the count says how many there were.
MAX_LISTED = 200
# Files whose rows one statement upserts (and whose stale rows one more deletes).
FILES_PER_STATEMENT = 500


def ingest_batch(settings: Settings, batch: LocatedBatch) -> dict[str, Any]:
    """Record the batch and each of its files; returns counts and the rejected files.

    Files are the manifest's (when there is one) else every FITS file in the folder,
    each read with its camera's instrument profile. A file that cannot be calibrated is
    recorded ``rejected`` with the reason; the others are ``ok``. Raises
    ConfigurationError for an invalid instrument profile, otherwise only for database or
    folder errors.
    """
    profiles = load_profiles(settings.processor.instruments_dir)
    files = [_exposure_values(batch, relative, profiles) for relative in _batch_files(batch)]
    files = _one_per_stem(files)
    with session_scope(settings.sqlalchemy_url) as session:
        batch_pk = _upsert_file_batch(session, batch)
        _replace_exposures(session, batch_pk, files)
    rows = [row for file_rows in files for row in file_rows]
    rejected = {row["path"]: row["error"] for row in rows if row["state"] == ExposureState.REJECTED}
    # Files calibrated extension by extension: their detectors.
    detectors = {rows_[0]["path"]: [r["detector"] for r in rows_] for rows_ in files
                 if len(rows_) > 1}  # fmt: skip
    for path, reason in rejected.items():
        log.warning("batch %s: %s rejected: %s", batch.name, path, reason)
    counts: dict[str, int] = {}
    for row in rows:
        if row["state"] == ExposureState.OK:
            counts[row["imagetyp"]] = counts.get(row["imagetyp"], 0) + 1
    # Ok frames with a descriptive card that could not be read (its value left unknown).
    unread = {row["path"]: row["error"] for row in rows
              if row["state"] == ExposureState.OK and row.get("error")}  # fmt: skip
    return {"batch": batch.name, "file_batch_pk": batch_pk, "files": len(files),
            "detectors": detectors,
            "ok": counts, "rejected": rejected, "unread_cards": unread,
            **ignored_outputs(batch)}  # fmt: skip


def ignored_outputs(batch: LocatedBatch) -> dict[str, Any]:
    """The files beside the frames that were not ingested, for the step's outputs: how
    many, and their names (the first MAX_LISTED)."""
    return {"ignored_count": len(batch.ignored), "ignored": list(batch.ignored[:MAX_LISTED])}


def _batch_files(batch: LocatedBatch) -> list[str]:
    """The manifest's files, else every FITS file at any depth (see transfer.listing)."""
    if batch.manifest is not None:
        return [str(entry["path"]) for entry in batch.manifest.get("files", [])]
    return list(list_folder(batch.folder).frames)


def _manifest_entry(batch: LocatedBatch, relative: str) -> dict[str, Any]:
    for entry in (batch.manifest or {}).get("files", []):
        if entry.get("path") == relative:
            return dict(entry)
    return {}


def _exposure_values(
    batch: LocatedBatch, relative: str, profiles: Profiles
) -> list[dict[str, Any]]:
    """The file's rows: one, or one per detector (see processor.detectors)."""
    path = batch.folder / relative
    # Locating the batch verified each manifest entry's sha256 against the file (or
    # computed it) just now: the file is not read and hashed a second time.
    verified = _manifest_entry(batch, relative).get("sha256")
    checksum = (verified or sha256_of(path)) if path.is_file() else None
    try:
        if checksum is None:
            raise ExposureRejected("file listed in the manifest is missing")
        rows = read_exposures(path, profiles)
    except ExposureRejected as error:
        return [_rejected(relative, checksum, str(error), error.profile)]
    # An ok row's error names the descriptive cards that could not be read, if any.
    return [{**values, "path": relative, "checksum": checksum, "state": ExposureState.OK}
            for values in rows]  # fmt: skip


def _one_per_stem(files: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """The files' rows, each ok file rejected whose name but for the FITS suffix an
    earlier ok file has (see transfer.listing.shared_stems)."""
    shared = shared_stems(rows[0]["path"] for rows in files if rows[0]["state"] == ExposureState.OK)
    return [[_same_stem(rows[0], shared[rows[0]["path"]])] if rows[0]["path"] in shared else rows
            for rows in files]  # fmt: skip


def _same_stem(row: dict[str, Any], earlier: str) -> dict[str, Any]:
    reason = (
        f"same name as {earlier} but for the suffix (a copy fpacked without -D?): left out,"
        " as their products would share one name; keep one of the two"
    )
    return _rejected(row["path"], row["checksum"], reason, row["profile"])


def _rejected(
    relative: str, checksum: str | None, reason: str, profile: str | None = None
) -> dict[str, Any]:
    # exptime_s and date_obs are NOT NULL: a rejected row holds 0 s and the ingest time;
    # only its path, state and error mean anything.
    return {
        "path": relative, "detector": "", "imagetyp": "unknown", "exptime_s": 0.0, "filter": None,
        "date_obs": dt.datetime.now(dt.UTC), "ra_deg": None, "dec_deg": None, "object": None,
        "ccd_temp_c": None, "binning": 1, "naxis1": None, "naxis2": None, "header": {},
        "checksum": checksum, "state": ExposureState.REJECTED, "error": reason,
        "profile": profile, "cards": None, "readout": None, "gain_e_per_adu": None,
        "read_noise_e": None, "saturation_adu": None,
    }  # fmt: skip


def _upsert_file_batch(session: Session, batch: LocatedBatch) -> int:
    row = session.scalars(select(FileBatch).where(FileBatch.name == batch.name)).one_or_none()
    remote = batch.url.startswith(("http://", "https://"))
    if row is None:
        row = FileBatch(
            name=batch.name,
            path=str(batch.folder),
            url=batch.url if remote else None,
            state=FileBatchState.TRANSFERRED if remote else FileBatchState.COMPLETE,
            completed_at=dt.datetime.now(dt.UTC),
            manifest=batch.manifest,
        )
        session.add(row)
    elif row.manifest is None:
        row.manifest = batch.manifest
    if not Path(row.path).is_dir():
        # The recorded folder is not on this host (written elsewhere): the copy here is.
        row.path = str(batch.folder)
    session.flush()
    return row.pk


def _replace_exposures(session: Session, batch_pk: int, files: list[list[dict[str, Any]]]) -> None:
    """Upsert the files' rows on (batch, path, detector) and delete their rows of other
    detectors (read before with another profile, or recorded by the telescope as one
    image), so that no stale row of a file is grouped with the new ones. A statement
    covers FILES_PER_STATEMENT files (SQLite takes at most 32,766 values a statement)."""
    for first in range(0, len(files), FILES_PER_STATEMENT):
        chunk = files[first : first + FILES_PER_STATEMENT]
        rows = [{"file_batch_pk": batch_pk, **row} for file_rows in chunk for row in file_rows]
        upsert_many(session, Exposure, rows, ["file_batch_pk", "path", "detector"])
        session.execute(
            delete(Exposure).where(
                Exposure.file_batch_pk == batch_pk,
                Exposure.path.in_({row["path"] for row in rows}),
                tuple_(Exposure.path, Exposure.detector).not_in(
                    [(row["path"], row["detector"]) for row in rows]
                ),
            )
        )
