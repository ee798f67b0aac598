"""fetch_file: one product over http(s) or from a local path, checked before it appears."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from observatory.errors import ChecksumMismatch, TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.transfer import fetch_file
from tests.unit.transfer.batches import fits_like_bytes
from tests.unit.transfer.conftest import MakeSettings
from tests.unit.transfer.faultserver import FaultServer, body


def test_product_is_fetched_with_size_and_sha256(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    data = fits_like_bytes(7, data_blocks=5)
    server.routes["/products/n1/master_bias.fits"] = body(data)
    dest = tmp_path / "products" / "n1" / "master_bias.fits"
    url = server.url("/products/n1/master_bias.fits")
    sha256 = hashlib.sha256(data).hexdigest()
    assert fetch_file(loopback_settings, url, dest, len(data), sha256.upper()) == dest
    assert dest.read_bytes() == data
    # Already there with that sha256: no request.
    fetch_file(loopback_settings, url, dest, len(data), sha256)
    assert len(server.requests) == 1


def test_product_without_expectations_is_bounded_by_max_file_bytes(
    make_settings: MakeSettings, server: FaultServer, tmp_path: Path
):
    settings = make_settings(allowed_hosts=["127.0.0.1"], max_file_bytes=100_000)
    server.routes["/big"] = body(b"x" * 5_000_000, chunked=True)
    server.routes["/big-announced"] = body(b"x" * 5_000_000)
    dest = tmp_path / "big.fits"
    with pytest.raises(TransferRefused, match=r"runs past 100000 bytes \(max_file_bytes\)"):
        fetch_file(settings, server.url("/big"), dest)
    assert not dest.exists()
    assert not (tmp_path / "big.fits.part").exists()
    with pytest.raises(TransferRefused, match=r"exceeds processor\.max_file_bytes"):
        fetch_file(settings, server.url("/big-announced"), dest)
    server.routes["/small"] = body(b"y" * 1000, chunked=True)
    assert fetch_file(settings, server.url("/small"), dest).read_bytes() == b"y" * 1000


def test_product_with_a_wrong_sha256_is_not_put_in_place(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    server.routes["/p.fits"] = body(b"abc" * 1000)
    dest = tmp_path / "p.fits"
    with pytest.raises(ChecksumMismatch):
        fetch_file(loopback_settings, server.url("/p.fits"), dest, 3000, "0" * 64)
    assert not dest.exists()
    assert not (tmp_path / "p.fits.part").exists()


def test_short_body_keeps_the_part_and_the_next_call_resumes(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    data = fits_like_bytes(3, data_blocks=20)
    sha256 = hashlib.sha256(data).hexdigest()
    server.routes["/p.fits"] = body(data, stop_after=10_000)
    dest = tmp_path / "p.fits"
    with pytest.raises(TransferFailed, match="body ended after 10000"):
        fetch_file(loopback_settings, server.url("/p.fits"), dest, len(data), sha256)
    server.routes["/p.fits"] = body(data)
    fetch_file(loopback_settings, server.url("/p.fits"), dest, len(data), sha256)
    assert server.requests[-1][1]["Range"] == "bytes=10000-"
    assert dest.read_bytes() == data


def test_local_product_is_copied_and_checked(loopback_settings: Settings, tmp_path: Path):
    source = tmp_path / "elsewhere" / "master_dark.fits"
    source.parent.mkdir()
    source.write_bytes(fits_like_bytes(9))
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    dest = tmp_path / "products" / "master_dark.fits"
    fetch_file(loopback_settings, source.as_uri(), dest, source.stat().st_size, sha256)
    assert dest.read_bytes() == source.read_bytes()
    assert fetch_file(loopback_settings, str(dest), dest, None, sha256) == dest
    with pytest.raises(ChecksumMismatch):
        fetch_file(loopback_settings, str(source), tmp_path / "other.fits", 1, None)
    assert not (tmp_path / "other.fits").exists()
    with pytest.raises(TransferFailed, match="does not exist"):
        fetch_file(loopback_settings, str(tmp_path / "missing.fits"), tmp_path / "m.fits")


def test_loopback_product_is_refused_by_default(
    make_settings: MakeSettings, server: FaultServer, tmp_path: Path
):
    server.routes["/p.fits"] = body(b"data")
    with pytest.raises(TransferRefused, match="loopback"):
        fetch_file(make_settings(), server.url("/p.fits"), tmp_path / "p.fits")
    assert server.requests == []
