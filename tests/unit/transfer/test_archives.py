"""Batches as archives (zip, tar, tar.gz), local or served over http(s), told by their
content; hostile archives refused with a clear error and nothing left behind."""

from __future__ import annotations

import io
import os
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from observatory.errors import TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.transfer import fetch_batch
from tests.unit.transfer.batches import fits_like_bytes
from tests.unit.transfer.conftest import MakeSettings
from tests.unit.transfer.faultserver import FaultServer, body

MEMBERS = {
    "night-7/zero/bias_001.fits": fits_like_bytes(1),
    "night-7/science/M31/light_001.fit": fits_like_bytes(2),
    "night-7/science/M31/light_001.jpg": b"a preview",
    "night-7/NINA.log": b"log",
    "__MACOSX/night-7/._bias_001.fits": b"resource fork",
}


def zip_bytes(members: dict[str, bytes], level: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", level) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tarred:  # type: ignore[call-overload]
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tarred.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tarred.addfile(info, io.BytesIO(member[1]))
    return buffer.getvalue()


def zip_with_symlink() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        info = zipfile.ZipInfo("sky.fits")
        info.external_attr = (0o120777 << 16) | 0x20  # a Unix symbolic link
        zipped.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings(allowed_hosts=["127.0.0.1"], transfer_timeout_s=10.0)


def left_behind(settings: Settings) -> list[str]:
    """What a fetch left in the repository (the kept manifests and lock files aside)."""
    if not settings.repository_dir.exists():
        return []
    return sorted(
        p.name
        for p in settings.repository_dir.iterdir()
        if p.name != ".manifests" and not p.name.endswith(".lock")
    )


def test_a_zip_served_by_a_query_url_is_extracted(settings: Settings, server: FaultServer):
    server.routes["/get?allfiles"] = body(zip_bytes(MEMBERS))
    fetched = fetch_batch(settings, server.url("/get?allfiles"))
    assert fetched.name == "get" and fetched.folder == settings.repository_dir / "get"
    assert [e["path"] for e in fetched.manifest["files"]] == [
        "night-7/science/M31/light_001.fit", "night-7/zero/bias_001.fits"
    ]  # fmt: skip
    assert set(fetched.ignored) == {"night-7/science/M31/light_001.jpg", "night-7/NINA.log"}
    assert (fetched.folder / "night-7/zero/bias_001.fits").read_bytes() == fits_like_bytes(1)
    assert not (fetched.folder / "__MACOSX").exists()
    assert fetched.bytes_fetched == len(zip_bytes(MEMBERS))
    assert left_behind(settings) == ["get"]
    # Fetched again (a restart): replaced whole, never merged with the earlier copy.
    server.routes["/get?allfiles"] = body(zip_bytes({"only.fits": fits_like_bytes(3)}))
    again = fetch_batch(settings, server.url("/get?allfiles"))
    assert [e["path"] for e in again.manifest["files"]] == ["only.fits"]
    assert not (again.folder / "night-7").exists() and left_behind(settings) == ["get"]


@pytest.mark.parametrize("mode", ["w:gz", "w"])
def test_tar_and_tar_gz_are_told_by_content_not_name(
    settings: Settings, server: FaultServer, mode: str
):
    data = tar_bytes([(name, blob) for name, blob in MEMBERS.items()], mode)
    server.routes["/download/night-7"] = body(data)  # no extension at all
    fetched = fetch_batch(settings, server.url("/download/night-7"))
    assert fetched.name == "night-7" and len(fetched.manifest["files"]) == 2


def test_a_local_archive_file_is_extracted_into_the_repository(settings: Settings):
    archive = settings.batches_dir / "night-8.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar_bytes([("zero/bias.fits", fits_like_bytes(4))]))
    before = archive.stat().st_mtime_ns
    fetched = fetch_batch(settings, str(archive))
    assert fetched.name == "night-8" and fetched.folder == settings.repository_dir / "night-8"
    assert archive.stat().st_mtime_ns == before and sorted(archive.parent.iterdir()) == [archive]


def test_an_archive_with_its_own_manifest_is_verified_against_it(settings: Settings):
    frame = fits_like_bytes(5)
    manifest = b'{"batch": "n", "files": [{"path": "a.fits", "size": 1, "sha256": "%s"}]}' % (
        b"0" * 64
    )
    archive = settings.batches_dir / "night-9.zip"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(zip_bytes({"a.fits": frame, "manifest.json": manifest}))
    with pytest.raises(TransferFailed, match=r"a\.fits"):
        fetch_batch(settings, str(archive))
    assert left_behind(settings) == []


HOSTILE = {
    "escaping member": (zip_bytes({"ok.fits": b"x", "../evil.fits": b"x"}), "leaves the folder"),
    "absolute member": (zip_bytes({"/etc/cron.d/evil": b"x"}), "absolute or Windows path"),
    "symlink in tar": (tar_bytes([link("sky.fits", "/etc/passwd", tarfile.SYMTYPE)]), "link"),
    "hard link in tar": (tar_bytes([link("sky.fits", "/etc/passwd", tarfile.LNKTYPE)]), "link"),
    "symlink in zip": (zip_with_symlink(), "link or special file"),
    "device in tar": (tar_bytes([link("dev.fits", "", tarfile.CHRTYPE)]), "device"),
    "bomb": (zip_bytes({"big.fits": bytes(8 * 1024 * 1024)}), "decompression bomb"),
    "too many members": (
        zip_bytes({f"f{n}.fits": b"x" for n in range(30)}),
        "more than 20 members",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_archives_are_refused_and_leave_nothing(
    make_settings: MakeSettings, server: FaultServer, case: str
):
    settings = make_settings(allowed_hosts=["127.0.0.1"], max_archive_members=20)
    data, reason = HOSTILE[case]
    server.routes["/get?night"] = body(data)
    with pytest.raises(TransferRefused, match=reason) as refused:
        fetch_batch(settings, server.url("/get?night"))
    assert "refused archive" in str(refused.value)
    assert left_behind(settings) == []
    assert not Path("/tmp/evil.fits").exists()


def test_archives_are_bounded_by_the_batch_size(make_settings: MakeSettings, server: FaultServer):
    settings = make_settings(allowed_hosts=["127.0.0.1"], max_batch_bytes=100_000)
    server.routes["/get?big"] = body(zip_bytes({"a.fits": fits_like_bytes(6, 40)}, 0))
    with pytest.raises(TransferRefused, match="max_batch_bytes"):
        fetch_batch(settings, server.url("/get?big"))
    assert left_behind(settings) == []


def test_a_corrupt_archive_fails_clearly(settings: Settings, server: FaultServer):
    server.routes["/get?cut"] = body(zip_bytes(MEMBERS)[:300])
    with pytest.raises(TransferFailed, match="unreadable zip archive"):
        fetch_batch(settings, server.url("/get?cut"))
    assert left_behind(settings) == []


def test_leftovers_of_a_killed_fetch_are_swept_by_the_next(settings: Settings):
    """A worker killed mid-extraction leaves its staging folder and download behind; the
    next fetch of that batch removes them once they are old, and never a recent one."""
    repository = settings.repository_dir
    stale_folder, stale_download = (
        repository / ".night-8.extract-x1",
        repository / ".night-8.archive-y1",
    )
    fresh, other = repository / ".night-8.extract-x2", repository / ".night-9.extract-x3"
    for folder in (stale_folder, fresh, other):
        (folder / "zero").mkdir(parents=True)
    stale_download.write_bytes(b"PK partial")
    for path in (stale_folder, stale_download, other):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    archive = settings.batches_dir / "night-8.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar_bytes([("zero/bias.fits", fits_like_bytes(4))]))
    fetch_batch(settings, str(archive))
    assert not stale_folder.exists() and not stale_download.exists()
    assert fresh.exists() and other.exists()
