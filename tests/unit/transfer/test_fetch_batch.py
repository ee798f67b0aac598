"""fetch_batch: local verification in place, downloads from a real file server, and the
faults a remote batch can have (truncation, corruption, wrong sizes, hostile redirects)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from observatory.errors import ChecksumMismatch, TransferFailed, TransferRefused
from observatory.fileserver import FileServerProcess, start_file_server_process
from observatory.settings import Settings
from observatory.transfer import fetch_batch
from tests.unit.transfer.batches import write_batch
from tests.unit.transfer.conftest import MakeSettings
from tests.unit.transfer.faultserver import FaultServer, body, redirect

NAME = "20261123-observation-42"


@pytest.fixture
def file_server(loopback_settings: Settings) -> Iterator[FileServerProcess]:
    with start_file_server_process(loopback_settings) as running:
        yield running


def serve_batch(server: FaultServer, folder: Path, **faults: Any) -> str:
    """Route the batch's manifest and files (``faults`` apply to the files); returns the url."""
    prefix = f"/batches/{folder.name}/"
    server.routes[prefix + "manifest.json"] = body((folder / "manifest.json").read_bytes())
    for path in folder.glob("*.fits"):
        server.routes[prefix + path.name] = body(path.read_bytes(), **faults)
    return server.url(prefix)


def serve_manifest(server: FaultServer, manifest: dict[str, Any]) -> str:
    prefix = f"/batches/{manifest['batch']}/"
    server.routes[prefix + "manifest.json"] = body(json.dumps(manifest).encode())
    return server.url(prefix)


# Local batches: verified in place.


def test_local_batch_is_verified_in_place(loopback_settings: Settings):
    manifest = write_batch(loopback_settings.batches_dir)
    folder = loopback_settings.batches_dir / NAME
    (folder / "notes.txt").write_text("not in the manifest, ignored")
    for url in (str(folder), folder.as_uri(), folder.as_uri() + "/"):
        fetched = fetch_batch(loopback_settings, url)
        assert fetched.folder == folder
        assert fetched.name == NAME
        assert fetched.manifest == manifest
        assert fetched.bytes_fetched == 0
        assert fetched.url == url
    assert not loopback_settings.repository_dir.exists()


def test_local_batch_with_a_missing_file_fails(loopback_settings: Settings):
    write_batch(loopback_settings.batches_dir)
    folder = loopback_settings.batches_dir / NAME
    (folder / "light_R_30s_0002.fits").unlink()
    with pytest.raises(TransferFailed, match=r"light_R_30s_0002\.fits: listed in the manifest"):
        fetch_batch(loopback_settings, str(folder))


def test_local_batch_with_a_corrupt_or_short_file_is_refused(loopback_settings: Settings):
    write_batch(loopback_settings.batches_dir)
    path = loopback_settings.batches_dir / NAME / "light_R_30s_0001.fits"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="sha256"):
        fetch_batch(loopback_settings, str(path.parent))
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(ChecksumMismatch, match="bytes, the manifest says"):
        fetch_batch(loopback_settings, str(path.parent))


def test_local_batch_file_that_is_a_symlink_is_refused(loopback_settings: Settings, tmp_path):
    write_batch(loopback_settings.batches_dir)
    path = loopback_settings.batches_dir / NAME / "light_R_30s_0001.fits"
    outside = tmp_path / "outside.fits"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(TransferRefused, match="not a regular file"):
        fetch_batch(loopback_settings, str(path.parent))


def test_local_folder_without_manifest_or_frames_fails(loopback_settings: Settings):
    folder = loopback_settings.batches_dir / NAME
    folder.mkdir(parents=True)
    with pytest.raises(TransferFailed, match=r"no FITS files .* and no manifest\.json"):
        fetch_batch(loopback_settings, str(folder))


@pytest.mark.parametrize(
    "bad_path",
    [
        "../x",
        "/etc/passwd",
        "sub/../x.fits",
        "sub//x.fits",
        "..",
        ".hidden",
        "a/.b",
        "a\\b",
        "a\x00b",
        "x.fits.part",
    ],
)
def test_manifest_with_an_unsafe_path_is_refused(loopback_settings: Settings, bad_path: str):
    manifest = write_batch(loopback_settings.batches_dir)
    manifest["files"][0]["path"] = bad_path
    folder = loopback_settings.batches_dir / NAME
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TransferRefused, match=r"files\[0\]"):
        fetch_batch(loopback_settings, str(folder))


def test_manifest_batch_name_must_match_the_folder(loopback_settings: Settings):
    manifest = write_batch(loopback_settings.batches_dir)
    folder = loopback_settings.batches_dir / NAME
    manifest["batch"] = "20261123-observation-43"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TransferRefused, match="names batch '20261123-observation-43'"):
        fetch_batch(loopback_settings, str(folder))


# Remote batches from the real file server.


def test_remote_batch_is_downloaded_verified_and_skipped_the_second_time(
    loopback_settings: Settings, file_server: FileServerProcess
):
    manifest = write_batch(loopback_settings.batches_dir, files=3)
    url = f"{file_server.base_url}/batches/{NAME}/"
    fetched = fetch_batch(loopback_settings, url)
    folder = loopback_settings.repository_dir / NAME
    assert fetched.folder == folder
    assert fetched.manifest == manifest
    assert fetched.bytes_fetched == sum(f["size"] for f in manifest["files"])
    for entry in manifest["files"]:
        source = loopback_settings.batches_dir / NAME / entry["path"]
        assert (folder / entry["path"]).read_bytes() == source.read_bytes()
    assert json.loads((folder / "manifest.json").read_text()) == manifest
    assert not list(folder.glob("*.part"))
    again = fetch_batch(loopback_settings, url.rstrip("/"))
    assert again.bytes_fetched == 0
    # The local copy verifies in place like any local batch.
    assert fetch_batch(loopback_settings, str(folder)).manifest == manifest


def test_remote_batch_on_loopback_is_refused_by_default(
    make_settings: MakeSettings, loopback_settings: Settings, file_server: FileServerProcess
):
    write_batch(loopback_settings.batches_dir)
    with pytest.raises(TransferRefused, match="loopback"):
        fetch_batch(make_settings(), f"{file_server.base_url}/batches/{NAME}/")


def test_missing_remote_batch_fails_with_the_http_status(
    loopback_settings: Settings, file_server: FileServerProcess
):
    with pytest.raises(TransferFailed, match="HTTP 404"):
        fetch_batch(loopback_settings, f"{file_server.base_url}/batches/{NAME}/")


# Faults, from a scripted server.


def test_truncated_download_is_resumed_with_range(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    manifest = write_batch(tmp_path / "source", files=1, data_blocks=40)
    size = manifest["files"][0]["size"]
    name = manifest["files"][0]["path"]
    url = serve_batch(server, tmp_path / "source" / NAME, stop_after=size // 2)
    with pytest.raises(TransferFailed, match=r"kept .*part to resume"):
        fetch_batch(loopback_settings, url)
    folder = loopback_settings.repository_dir / NAME
    assert (folder / (name + ".part")).stat().st_size == size // 2
    assert not (folder / name).exists()

    serve_batch(server, tmp_path / "source" / NAME)
    fetched = fetch_batch(loopback_settings, url)
    assert fetched.bytes_fetched == size - size // 2
    assert server.requests[-1][1]["Range"] == f"bytes={size // 2}-"
    assert (folder / name).read_bytes() == (tmp_path / "source" / NAME / name).read_bytes()


def test_server_ignoring_range_restarts_the_file(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    manifest = write_batch(tmp_path / "source", files=1, data_blocks=10)
    size = manifest["files"][0]["size"]
    url = serve_batch(server, tmp_path / "source" / NAME, stop_after=1000)
    with pytest.raises(TransferFailed):
        fetch_batch(loopback_settings, url)
    serve_batch(server, tmp_path / "source" / NAME, honour_range=False)
    assert fetch_batch(loopback_settings, url).bytes_fetched == size


def test_corrupt_file_is_refused_and_not_renamed_into_place(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    manifest = write_batch(tmp_path / "source", files=2)
    folder = tmp_path / "source" / NAME
    bad = folder / manifest["files"][1]["path"]
    data = bytearray(bad.read_bytes())
    data[5000] ^= 0x01
    bad.write_bytes(bytes(data))
    url = serve_batch(server, folder)
    with pytest.raises(ChecksumMismatch, match=manifest["files"][1]["sha256"]):
        fetch_batch(loopback_settings, url)
    local = loopback_settings.repository_dir / NAME
    assert (local / manifest["files"][0]["path"]).exists()
    assert not (local / bad.name).exists()
    assert not (local / (bad.name + ".part")).exists()
    assert not (local / "manifest.json").exists()


def test_wrong_content_length_is_refused(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    manifest = write_batch(tmp_path / "source", files=1)
    size = manifest["files"][0]["size"]
    url = serve_batch(server, tmp_path / "source" / NAME, content_length=size + 100)
    with pytest.raises(TransferRefused, match=f"sends {size + 100} bytes, expected {size}"):
        fetch_batch(loopback_settings, url)


def test_body_longer_than_the_manifest_is_cut_off_and_refused(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    manifest = write_batch(tmp_path / "source", files=1)
    entry = manifest["files"][0]
    prefix = f"/batches/{NAME}/"
    server.routes[prefix + "manifest.json"] = body(json.dumps(manifest).encode())
    endless = (tmp_path / "source" / NAME / entry["path"]).read_bytes() * 200
    server.routes[prefix + entry["path"]] = body(endless, chunked=True)
    with pytest.raises(TransferRefused, match="body runs past"):
        fetch_batch(loopback_settings, server.url(prefix))
    local = loopback_settings.repository_dir / NAME
    assert not (local / entry["path"]).exists()
    assert not (local / (entry["path"] + ".part")).exists()


def test_sizes_above_the_limits_are_refused_before_downloading(
    make_settings: MakeSettings, server: FaultServer, tmp_path: Path
):
    manifest = write_batch(tmp_path / "source", files=3)
    url = serve_batch(server, tmp_path / "source" / NAME)
    size = manifest["files"][0]["size"]
    small_files = make_settings(allowed_hosts=["127.0.0.1"], max_file_bytes=size - 1)
    with pytest.raises(TransferRefused, match="max_file_bytes"):
        fetch_batch(small_files, url)
    small_batch = make_settings(allowed_hosts=["127.0.0.1"], max_batch_bytes=2 * size)
    with pytest.raises(TransferRefused, match="max_batch_bytes"):
        fetch_batch(small_batch, url)
    assert [path for path, _headers in server.requests] == [f"/batches/{NAME}/manifest.json"] * 2


@pytest.mark.parametrize("bad_path", ["../x", "..%2fx", "/etc/passwd", "a/../../b"])
def test_remote_manifest_with_an_unsafe_path_is_refused(
    loopback_settings: Settings, server: FaultServer, bad_path: str
):
    entry = {"path": bad_path, "size": 1, "sha256": "0" * 64}
    url = serve_manifest(server, {"batch": NAME, "complete": True, "files": [entry]})
    with pytest.raises(TransferRefused, match="files"):
        fetch_batch(loopback_settings, url)
    assert not (loopback_settings.repository_dir / NAME).exists()


@pytest.mark.parametrize("bad_name", ["..", "../etc", ".hidden", "a/b", ""])
def test_remote_manifest_with_an_unsafe_batch_name_is_refused(
    loopback_settings: Settings, server: FaultServer, bad_name: str
):
    server.routes[f"/batches/{NAME}/manifest.json"] = body(
        json.dumps({"batch": bad_name, "files": []}).encode()
    )
    with pytest.raises(TransferRefused, match="batch name"):
        fetch_batch(loopback_settings, server.url(f"/batches/{NAME}/"))


def test_oversized_or_invalid_manifest_is_refused(loopback_settings: Settings, server: FaultServer):
    server.routes[f"/batches/{NAME}/manifest.json"] = body(b"[" + b" " * (9 * 1024 * 1024))
    with pytest.raises(TransferRefused, match="larger than"):
        fetch_batch(loopback_settings, server.url(f"/batches/{NAME}/"))
    server.routes[f"/batches/{NAME}/manifest.json"] = body(b"{not json")
    with pytest.raises(TransferRefused, match="not JSON"):
        fetch_batch(loopback_settings, server.url(f"/batches/{NAME}/"))


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/batches/other/manifest.json",
        "http://10.0.0.7/batches/x/manifest.json",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/x",
    ],
)
def test_redirects_to_refused_targets_are_refused(
    make_settings: MakeSettings, server: FaultServer, target: str
):
    # The batch is reached as "localhost" (allowed by name); its redirect must pass the
    # policy again on its own.
    settings = make_settings(allowed_hosts=["localhost"])
    server.routes[f"/batches/{NAME}/manifest.json"] = redirect(target.format(port=server.port))
    with pytest.raises(TransferRefused, match="refused url"):
        fetch_batch(settings, server.url(f"/batches/{NAME}/", host="localhost"))
    assert len(server.requests) == 1


def test_redirects_within_policy_are_followed_a_few_times(
    loopback_settings: Settings, server: FaultServer, tmp_path: Path
):
    write_batch(tmp_path / "source", files=1)
    serve_batch(server, tmp_path / "source" / NAME)
    real = f"/batches/{NAME}/manifest.json"
    server.routes["/hop1"] = redirect(real, status=301)
    server.routes[f"/moved/{NAME}/manifest.json"] = redirect("/hop1", status=307)
    fetched = fetch_batch(loopback_settings, server.url(f"/moved/{NAME}/"))
    assert fetched.name == NAME
    assert [path for path, _ in server.requests[:3]] == [
        f"/moved/{NAME}/manifest.json",
        "/hop1",
        real,
    ]
    for hop in range(10):
        server.routes[f"/loop{hop}/manifest.json"] = redirect(f"/loop{hop + 1}/manifest.json")
    with pytest.raises(TransferRefused, match="more than 5 redirects"):
        fetch_batch(loopback_settings, server.url("/loop0/"))
