"""The file server, as a real process on loopback: files, manifests, Range, and no path
that leaves its roots."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.fileserver import FileServerProcess, start_file_server_process
from observatory.settings import Settings, load_settings

NAME = "20261123-observation-42"
FRAME = bytes(range(256)) * 40


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fileserver")
    batch = root / "batches" / NAME
    batch.mkdir(parents=True)
    (batch / "light_R_30s_0001.fits").write_bytes(FRAME)
    (batch / "manifest.json").write_text(json.dumps({"batch": NAME, "files": []}))
    (batch / "light_R_30s_0002.fits.part").write_bytes(b"partial")
    (batch / "inside_link.fits").symlink_to(batch / "light_R_30s_0001.fits")
    (root / "secret.txt").write_text("outside the roots")
    (batch / "escape.fits").symlink_to(root / "secret.txt")
    product = root / "products" / NAME / "masters"
    product.mkdir(parents=True)
    (product / "master_bias.fits").write_bytes(b"bias" * 100)
    return root


@pytest.fixture(scope="module")
def server(roots: Path) -> Iterator[FileServerProcess]:
    settings: Settings = load_settings(
        data_dir=roots / "var",
        telescope={"batches_dir": roots / "batches"},
        processor={"products_dir": roots / "products"},
    )
    with start_file_server_process(settings) as running:
        yield running


def get(
    server: FileServerProcess, raw_path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw_path`` exactly as written (no client-side normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, raw_path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_batch_file_and_listing(server: FileServerProcess):
    status, headers, data = get(server, f"/batches/{NAME}/light_R_30s_0001.fits")
    assert (status, data) == (200, FRAME)
    assert headers["accept-ranges"] == "bytes"
    for listing in (f"/batches/{NAME}/", f"/batches/{NAME}"):
        status, headers, data = get(server, listing)
        assert status == 200
        assert headers["content-type"] == "application/json"
        assert json.loads(data)["batch"] == NAME


def test_head_answers_the_length_without_a_body(server: FileServerProcess):
    status, headers, data = get(server, f"/batches/{NAME}/light_R_30s_0001.fits", "HEAD")
    assert (status, headers["content-length"], data) == (200, str(len(FRAME)), b"")


def test_range_requests_answer_206(server: FileServerProcess):
    path = f"/batches/{NAME}/light_R_30s_0001.fits"
    status, headers, data = get(server, path, Range="bytes=1000-")
    assert status == 206
    assert headers["content-range"] == f"bytes 1000-{len(FRAME) - 1}/{len(FRAME)}"
    assert data == FRAME[1000:]
    status, _headers, data = get(server, path, Range="bytes=10-19")
    assert (status, data) == (206, FRAME[10:20])
    status, headers, _data = get(server, path, Range=f"bytes={len(FRAME) + 5}-")
    assert status == 416
    assert headers["content-range"] == f"bytes */{len(FRAME)}"


def test_products_by_relative_path(server: FileServerProcess):
    status, _headers, data = get(server, f"/products/{NAME}/masters/master_bias.fits")
    assert (status, data) == (200, b"bias" * 100)


@pytest.mark.parametrize(
    "raw_path",
    [
        "/batches/../../etc/passwd",
        "/batches/%2e%2e/%2e%2e/etc/passwd",
        f"/batches/{NAME}/..%2f..%2fsecret.txt",
        f"/batches/{NAME}/%2e%2e",
        "/batches/..%2f..%2fsecret.txt/x",
        "/products/../secret.txt",
        "/products/%2e%2e/secret.txt",
        "/products/%2E%2E%2Fsecret.txt",
        "/products//etc/passwd",
        "/products/%2fetc%2fpasswd",
        f"/batches/{NAME}/escape.fits",
        f"/batches/{NAME}/light_R_30s_0002.fits.part",
        f"/batches/{NAME}/missing.fits",
        f"/batches/{NAME}/light_R_30s_0001.fits/x",
        "/batches/no-such-batch/",
        f"/products/{NAME}/masters",
        "/secret.txt",
        "/",
    ],
)
def test_escapes_dot_files_and_missing_paths_answer_404(server: FileServerProcess, raw_path: str):
    status, _headers, data = get(server, raw_path)
    assert status == 404
    assert b"outside the roots" not in data
    assert b"root:" not in data


def test_symlink_that_stays_inside_the_root_is_served(server: FileServerProcess):
    status, _headers, data = get(server, f"/batches/{NAME}/inside_link.fits")
    assert (status, data) == (200, FRAME)


def test_the_server_is_read_only(server: FileServerProcess):
    for method in ("POST", "PUT", "DELETE"):
        status, _headers, _data = get(server, f"/batches/{NAME}/light_R_30s_0001.fits", method)
        assert status == 405
