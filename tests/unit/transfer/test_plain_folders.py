"""Batch folders as capture programs leave them: FITS files in subfolders, in every
spelling and compression, other files beside them, no manifest. The manifest is computed
and kept in the repository; the originals are only read."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from observatory.errors import ChecksumMismatch, TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.transfer import fetch_batch
from observatory.transfer.listing import frame_stem, list_folder
from tests.unit.transfer.batches import fits_like_bytes, manifest_entry
from tests.unit.transfer.faultserver import FaultServer, body

NAME = "2026-11-23"
FRAMES = [
    "zero/Bias_001.fits",
    "zero/Bias_002.FIT",
    "dark/Dark_300s_001.fts",
    "flat/R/Flat_R_001.fits.fz",
    "flat/R/Flat_R_002.fits.gz",
    "science/M31/M31_Light_R_300s_001.FITS",
    "science/M42/M42_Light_R_300s_001.fit",
]
OTHERS = [
    "NINA.log",
    "notes.txt",
    "science/M31/M31_Light_R_300s_001.jpg",
    "science/M31/M31_Light_R_300s_002.xisf",
    ".DS_Store",
    "zero/.hidden.fits",
]


def fpack_bytes(seed: int) -> bytes:
    data = np.random.default_rng(seed).integers(0, 4000, (32, 32)).astype(np.uint16)
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data)]).writeto(buffer)
    return buffer.getvalue()


def write_capture_folder(folder: Path) -> None:
    """A night as NINA or MaxIm DL leave it (no manifest)."""
    for seed, relative in enumerate(FRAMES):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = fits_like_bytes(seed)
        if relative.endswith(".fz"):
            data = fpack_bytes(seed)
        elif relative.endswith(".gz"):
            data = gzip.compress(data)
        path.write_bytes(data)
    for relative in OTHERS:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(b"not a frame")


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every path under ``folder`` (folders too) with its mode, mtime [ns] and bytes."""
    found = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        info = path.lstat()
        data = path.read_bytes() if path.is_file() else b""
        found[str(path.relative_to(folder))] = (info.st_mode, info.st_mtime_ns, data)
    return found


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


def test_a_capture_folder_is_taken_as_it_is_and_left_untouched(settings: Settings):
    folder = settings.batches_dir / NAME
    write_capture_folder(folder)
    before = snapshot(folder)
    os.chmod(folder, 0o555)  # read-only, as a mounted disk or another user's folder
    try:
        fetched = fetch_batch(settings, str(folder))
        again = fetch_batch(settings, folder.as_uri())
    finally:
        os.chmod(folder, 0o755)
    assert snapshot(folder) == before  # bytes, mtimes, no new file
    assert fetched.folder == folder and fetched.name == NAME
    assert [entry["path"] for entry in fetched.manifest["files"]] == sorted(FRAMES)
    assert fetched.manifest["files"][0] == manifest_entry_at(folder, sorted(FRAMES)[0])
    assert set(fetched.ignored) == set(OTHERS)
    assert fetched.manifest_file == settings.repository_dir / ".manifests" / f"{NAME}.json"
    kept = json.loads(fetched.manifest_file.read_text())
    assert kept["files"] == fetched.manifest["files"] and kept["computed"] is True
    assert (kept["batch"], kept["complete"]) == (NAME, True) and kept["created_at"]
    assert (fetched.url, fetched.bytes_fetched) == (str(folder), 0)
    assert again.manifest["files"] == fetched.manifest["files"]


def manifest_entry_at(folder: Path, relative: str) -> dict[str, object]:
    return {**manifest_entry(folder / relative), "path": relative}


def test_a_folder_with_its_manifest_lists_what_it_does_not_name(settings: Settings):
    folder = settings.batches_dir / NAME
    write_capture_folder(folder)
    entries = [manifest_entry_at(folder, relative) for relative in FRAMES[:3]]
    (folder / "manifest.json").write_text(json.dumps({"batch": NAME, "files": entries}))
    fetched = fetch_batch(settings, str(folder))
    assert fetched.manifest_file is None
    assert set(fetched.ignored) == set(FRAMES[3:]) | set(OTHERS)
    (folder / FRAMES[0]).write_bytes(b"changed")
    with pytest.raises(ChecksumMismatch, match="Bias_001"):
        fetch_batch(settings, str(folder))


def test_links_inside_the_folder_are_never_followed(settings: Settings, tmp_path: Path):
    folder = settings.batches_dir / NAME
    write_capture_folder(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.fits").write_bytes(fits_like_bytes(99))
    (folder / "linked").symlink_to(elsewhere)
    (folder / "science" / "link.fits").symlink_to(elsewhere / "secret.fits")
    fetched = fetch_batch(settings, str(folder))
    assert {"linked", "science/link.fits"} <= set(fetched.ignored)
    assert all("secret" not in entry["path"] for entry in fetched.manifest["files"])
    entries = [{"path": "linked/secret.fits", **_size_sha(elsewhere / "secret.fits")}]
    (folder / "manifest.json").write_text(json.dumps({"batch": NAME, "files": entries}))
    with pytest.raises(TransferRefused, match="symbolic link"):
        fetch_batch(settings, str(folder))


def _size_sha(path: Path) -> dict[str, object]:
    entry = manifest_entry(path)
    return {"size": entry["size"], "sha256": entry["sha256"]}


def test_remote_batches_may_have_subfolders(settings: Settings, server: FaultServer):
    folder = settings.batches_dir / NAME
    write_capture_folder(folder)
    entries = [manifest_entry_at(folder, relative) for relative in FRAMES]
    prefix = f"/batches/{NAME}/"
    server.routes[prefix + "manifest.json"] = body(
        json.dumps({"batch": NAME, "files": entries}).encode()
    )
    for relative in FRAMES:
        server.routes[prefix + relative] = body((folder / relative).read_bytes())
    allowed = settings.model_copy(
        update={"processor": settings.processor.model_copy(update={"allowed_hosts": ["127.0.0.1"]})}
    )
    fetched = fetch_batch(allowed, server.url(prefix))
    assert fetched.folder == settings.repository_dir / NAME
    for relative in FRAMES:
        assert (fetched.folder / relative).read_bytes() == (folder / relative).read_bytes()


def test_listing_and_product_stems():
    assert frame_stem("flat/R/Flat_R_001.fits.fz") == "flat/R/Flat_R_001"
    assert frame_stem("science/M31/x.FITS") == "science/M31/x"
    assert frame_stem("a.fts.gz") == "a"


def test_an_empty_listing(tmp_path: Path):
    listing = list_folder(tmp_path)
    assert listing.frames == () and listing.ignored == ()


def test_a_folder_that_cannot_be_read_fails_the_listing(tmp_path: Path):
    """os.walk would skip it in silence, and its frames would go missing."""
    with pytest.raises(TransferFailed, match="cannot list"):
        list_folder(tmp_path / "gone")
