"""The rules of archive extraction one by one: how an archive is told from its first
bytes, which member names are taken, skipped or refused, and the bounds at their edges."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

import pytest

from observatory.errors import TransferRefused
from observatory.settings import Settings
from observatory.transfer import fetch_batch
from observatory.transfer.archive import archive_kind_of, member_path
from tests.unit.transfer.batches import fits_like_bytes
from tests.unit.transfer.conftest import MakeSettings
from tests.unit.transfer.test_archives import tar_bytes, zip_bytes

URL = "https://example.org/get?night"


def test_archives_are_told_by_their_first_bytes():
    empty_zip = zip_bytes({})
    assert empty_zip.startswith(b"PK\x05\x06") and archive_kind_of(empty_zip) == "zip"
    assert archive_kind_of(zip_bytes({"a.fits": b"x"})) == "zip"
    assert archive_kind_of(gzip.compress(b"anything")) == "gzip"
    assert archive_kind_of(tar_bytes([("a.fits", b"x")], "w")) == "tar"
    assert archive_kind_of(fits_like_bytes(1)) is None
    assert archive_kind_of(b"") is None


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("night/zero/bias 001.fits", "night/zero/bias 001.fits"),  # blanks are fine
        ("./night//zero/./b.fits", "night/zero/b.fits"),
        ("manifest.json", "manifest.json"),
        ("./", None),
        (".DS_Store", None),
        ("__MACOSX/night/._b.fits", None),
        ("night/.thumbs/b.jpg", None),
    ],
)
def test_member_names_taken_or_skipped(name: str, path: str | None):
    assert member_path(name, URL) == path


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("night/b\x01.fits", "control characters"),
        ("night/b\x7f.fits", "control characters"),
        ("/etc/passwd", "absolute or Windows path"),
        ("night\\b.fits", "absolute or Windows path"),
        ("C:/Windows/b.fits", "absolute or Windows path"),
        ("night/../../b.fits", r"leaves the folder \('\.\.'\)"),
        ("..", "leaves the folder"),
        ("night/b.fits.part", "reserves"),
        ("/".join(["d"] * 9) + "/b.fits", "not a plain relative path"),
    ],
)
def test_member_names_refused(name: str, reason: str):
    with pytest.raises(TransferRefused, match=reason) as refused:
        member_path(name, URL)
    assert str(refused.value).startswith(f"refused archive {URL}")


def zip_of(*members: tuple[str, bytes, int]) -> bytes:
    """A zip whose members carry a Unix mode (``external_attr``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zipped.writestr(info, data)
    return buffer.getvalue()


def fetch_archive(settings: Settings, data: bytes, name: str = "night-1.zip") -> list[str]:
    archive = settings.batches_dir / name
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(data)
    fetched = fetch_batch(settings, str(archive))
    return [entry["path"] for entry in fetched.manifest["files"]]


def test_hidden_members_are_skipped_and_the_rest_extracted(make_settings: MakeSettings):
    data = zip_of(
        ("__MACOSX/._a.fits", b"fork", 0o100644),
        ("a.fits", fits_like_bytes(1), 0o100644),
        ("sub/b.fits", fits_like_bytes(2), 0o100644),
        ("sub/", b"", 0o040755),  # after its file
        ("deep/er/", b"", 0o040755),  # no entry for deep/
    )
    assert fetch_archive(make_settings(), data) == ["a.fits", "sub/b.fits"]
    tarred = [tarfile.TarInfo("./night"), (".hidden.fits", b"x"), ("night/c.fits", b"c")]
    tarred[0].type = tarfile.DIRTYPE  # type: ignore[union-attr]
    assert fetch_archive(make_settings(), tar_bytes(tarred), "n.tar.gz") == ["night/c.fits"]


def test_special_files_in_a_zip_are_refused(make_settings: MakeSettings):
    fifo = zip_of(("a.fits", b"x", 0o100644), ("pipe.fits", b"", 0o010644))
    with pytest.raises(TransferRefused, match=r"'pipe\.fits' is a link or special file"):
        fetch_archive(make_settings(), fifo)


def test_a_member_listed_twice_is_refused(make_settings: MakeSettings):
    twice = zip_of(("a.fits", b"1", 0o100644), ("./a.fits", b"2", 0o100644))
    with pytest.raises(TransferRefused, match="listed twice"):
        fetch_archive(make_settings(), twice)


def test_bounds_hold_at_their_edges(make_settings: MakeSettings):
    members = {f"f{n}.fits": bytes([n]) * 1000 for n in range(3)}
    exact = make_settings(max_archive_members=3, max_file_bytes=1000, max_batch_bytes=3000)
    assert len(fetch_archive(exact, zip_bytes(members, zipfile.ZIP_STORED))) == 3
    for limits, reason in [
        ({"max_archive_members": 2}, "more than 2 members"),
        ({"max_file_bytes": 999}, "max_file_bytes"),
        ({"max_batch_bytes": 2999}, "max_batch_bytes"),
    ]:
        settings = make_settings(**{"max_archive_members": 3, **limits})
        with pytest.raises(TransferRefused, match=reason):
            fetch_archive(settings, zip_bytes(members, zipfile.ZIP_STORED), "n.zip")


def test_a_small_archive_that_compresses_well_is_no_bomb(make_settings: MakeSettings):
    """FITS headers are mostly blanks: below a megabyte, no ratio is refused."""
    small = zip_bytes({"header_only.fits": b" " * 900_000})
    assert fetch_archive(make_settings(max_archive_ratio=2.0), small) == ["header_only.fits"]


def test_an_archive_of_frames_that_do_not_compress_is_extracted(make_settings: MakeSettings):
    """Real frames compress little: two megabytes of noise pass every bound."""
    noisy = {"a.fits": fits_like_bytes(7, 400), "b.fits": fits_like_bytes(8, 400)}
    fetched = fetch_archive(make_settings(), zip_bytes(noisy), "noise.zip")
    assert fetched == ["a.fits", "b.fits"]
