"""The manifest's rules at their edges: names, sizes, digests, byte limits, and the files
a folder holds against it. Real files under tmp_path; each test names one rule."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from observatory.errors import ChecksumMismatch, TransferFailed, TransferRefused
from observatory.transfer.manifest import (
    MAX_MANIFEST_BYTES,
    MAX_PATH_PARTS,
    check_file_name,
    file_holds,
    file_matches,
    parse_manifest,
    read_local_manifest,
    validate_manifest,
    verify_file,
)

DIGEST = hashlib.sha256(b"frame").hexdigest()
OTHER = hashlib.sha256(b"other").hexdigest()
WHERE = "refused manifest m: files[0]"


def manifest_with(**entry: Any) -> dict[str, Any]:
    """A one-file manifest whose entry is a valid one updated with ``entry``."""
    return {"batch": "b1", "files": [{"path": "f.fits", "size": 5, "sha256": DIGEST, **entry}]}


def refusal(manifest: Any) -> str:
    with pytest.raises(TransferRefused) as refused:
        validate_manifest(manifest, "m")
    return str(refused.value)


def padded_manifest(total_bytes: int) -> bytes:
    """A valid manifest JSON padded with trailing spaces to exactly ``total_bytes``."""
    data = json.dumps(manifest_with()).encode()
    return data + b" " * (total_bytes - len(data))


# File names.


def path_of(*part_lengths: int) -> str:
    return "/".join("p" * length for length in part_lengths)


def test_a_path_of_exactly_1024_characters_passes_and_1025_is_refused():
    exact = path_of(255, 255, 255, 254, 1)
    assert len(exact) == 1024
    check_file_name(exact, "w")
    over = path_of(255, 255, 255, 255, 1)
    assert len(over) == 1025
    with pytest.raises(TransferRefused, match="not a plain relative path"):
        check_file_name(over, "w")


def test_a_name_of_exactly_255_characters_passes_and_256_is_refused():
    check_file_name("n" * 255, "w")
    check_file_name("night/" + "n" * 255, "w")
    with pytest.raises(TransferRefused, match="not a plain relative path"):
        check_file_name("n" * 256, "w")
    with pytest.raises(TransferRefused, match="not a plain relative path"):
        check_file_name("night/" + "n" * 256, "w")


def test_at_most_max_path_parts_folders_deep():
    check_file_name("/".join(["d"] * MAX_PATH_PARTS), "w")
    with pytest.raises(TransferRefused, match="not a plain relative path"):
        check_file_name("/".join(["d"] * (MAX_PATH_PARTS + 1)), "w")


@pytest.mark.parametrize(
    "path", ["light R 30s.fits", "night of 23/light 1.fits", " lead.fits", "caf\u00e9.fits"]
)
def test_a_space_or_a_non_ascii_letter_in_a_path_is_accepted(path: str):
    check_file_name(path, "w")


@pytest.mark.parametrize("path", ["a\x01b", "a\x1fb", "a\nb", "a\x7fb", "a\x00b", "\tx"])
def test_control_characters_del_and_nul_in_a_path_are_refused(path: str):
    with pytest.raises(TransferRefused) as refused:
        check_file_name(path, "w")
    assert str(refused.value) == f"w: path {path!r} holds control characters or NUL"


@pytest.mark.parametrize("path", [None, "", 5, ["a"]])
def test_a_path_that_is_not_a_non_empty_string_is_refused(path: Any):
    with pytest.raises(TransferRefused) as refused:
        check_file_name(path, "w")
    assert str(refused.value) == f"w: path {path!r} is not a file name"


def test_an_unsafe_path_is_refused_with_the_rule_it_breaks():
    with pytest.raises(TransferRefused) as refused:
        check_file_name("a/../b", "w")
    assert str(refused.value) == (
        "w: path 'a/../b' is not a plain relative path (no leading '/', no empty, "
        "'..' or hidden parts, no '\\')"
    )


@pytest.mark.parametrize("path", ["manifest.json", "light.fits.part", "night/light.fits.part"])
def test_names_the_transfer_reserves_are_refused(path: str):
    with pytest.raises(TransferRefused) as refused:
        check_file_name(path, "w")
    assert str(refused.value) == f"w: path {path!r} is a name the transfer reserves"


def test_a_manifest_json_in_a_subfolder_is_an_ordinary_file():
    check_file_name("night/manifest.json", "w")
    check_file_name("light.part.fits", "w")


# Entries: sizes and digests.


@pytest.mark.parametrize("size", [True, False, -1, 1.5, "5", None])
def test_a_size_that_is_not_a_byte_count_is_refused(size: Any):
    assert refusal(manifest_with(size=size)) == f"{WHERE}: size {size!r} is not a byte count"


def test_an_empty_file_of_size_zero_is_accepted():
    assert validate_manifest(manifest_with(size=0), "m")["files"][0]["size"] == 0


@pytest.mark.parametrize("digest", [None, 5, ["a" * 64], "g" * 64, "a" * 63, "a" * 65])
def test_a_digest_that_is_not_a_string_of_64_hex_digits_is_refused(digest: Any):
    assert refusal(manifest_with(sha256=digest)) == (
        f"{WHERE}: sha256 {digest!r} is not 64 hex digits"
    )


def test_a_batch_name_or_digest_with_a_trailing_newline_is_refused():
    """A regular expression's ``$`` also matches before a final newline: the whole name
    must match, or ``b1\\n`` would become a folder name holding a newline."""
    assert refusal({"batch": "b1\n", "files": []}) == (
        "refused manifest m: batch name 'b1\\n' is not safe"
    )
    digest = DIGEST + "\n"
    assert refusal(manifest_with(sha256=digest)) == (
        f"{WHERE}: sha256 {digest!r} is not 64 hex digits"
    )


def test_an_upper_case_digest_is_accepted_and_lowered():
    manifest = validate_manifest(manifest_with(sha256=DIGEST.upper()), "m")
    assert manifest["files"][0]["sha256"] == DIGEST


def test_a_path_listed_twice_is_refused():
    manifest = manifest_with()
    manifest["files"].append(dict(manifest["files"][0]))
    assert refusal(manifest) == "refused manifest m: files[1]: 'f.fits' is listed twice"


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ([], "refused manifest m: not a JSON object"),
        ({"files": []}, "refused manifest m: batch name None is not safe"),
        ({"batch": 42, "files": []}, "refused manifest m: batch name 42 is not safe"),
        ({"batch": "../b", "files": []}, "refused manifest m: batch name '../b' is not safe"),
        ({"batch": "b1"}, "refused manifest m: 'files' is not a list"),
        ({"batch": "b1", "files": {}}, "refused manifest m: 'files' is not a list"),
        ({"batch": "b1", "files": ["f.fits"]}, f"{WHERE} is not an object"),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_refused_naming_the_field(manifest: Any, message: str):
    assert refusal(manifest) == message


def test_a_valid_manifest_is_returned_whole():
    manifest = manifest_with()
    manifest["complete"] = True
    assert validate_manifest(json.loads(json.dumps(manifest)), "m") == manifest


# Byte limits.


def test_a_manifest_of_exactly_max_manifest_bytes_passes_and_one_more_is_refused():
    assert parse_manifest(padded_manifest(MAX_MANIFEST_BYTES), "m") == manifest_with()
    with pytest.raises(TransferRefused) as refused:
        parse_manifest(padded_manifest(MAX_MANIFEST_BYTES + 1), "m")
    assert str(refused.value) == f"refused manifest m: larger than {MAX_MANIFEST_BYTES} bytes"


def test_manifest_bytes_that_are_not_json_are_refused():
    with pytest.raises(TransferRefused, match=r"^refused manifest m: not JSON \("):
        parse_manifest(b"\xff{", "m")
    with pytest.raises(TransferRefused, match=r"^refused manifest m: not JSON \("):
        parse_manifest(b'{"batch": ', "m")


def test_a_local_manifest_at_the_limit_is_read_and_one_byte_more_is_refused(tmp_path: Path):
    """The read stops one byte past the limit: a longer file is refused, not cut to a
    shorter one that would parse."""
    (tmp_path / "manifest.json").write_bytes(padded_manifest(MAX_MANIFEST_BYTES))
    assert read_local_manifest(tmp_path) == manifest_with()
    (tmp_path / "manifest.json").write_bytes(padded_manifest(MAX_MANIFEST_BYTES + 1))
    with pytest.raises(TransferRefused) as refused:
        read_local_manifest(tmp_path)
    path = tmp_path / "manifest.json"
    assert str(refused.value) == f"refused manifest {path}: larger than {MAX_MANIFEST_BYTES} bytes"


def test_a_parsed_manifest_of_the_wrong_shape_names_its_source():
    with pytest.raises(TransferRefused) as refused:
        parse_manifest(b"[]", "http://h/b1/manifest.json")
    assert str(refused.value) == "refused manifest http://h/b1/manifest.json: not a JSON object"


def test_a_local_manifest_that_is_not_utf8_is_refused_not_raised(tmp_path: Path):
    """Read as bytes: a manifest in another encoding is a refusal naming the file, not a
    decoding error escaping from the read."""
    (tmp_path / "manifest.json").write_bytes(b'{"batch": "b\xe9"}')
    with pytest.raises(TransferRefused, match=r"^refused manifest .*manifest\.json: not JSON \("):
        read_local_manifest(tmp_path)


def test_a_folder_without_a_manifest_fails_naming_the_folder(tmp_path: Path):
    with pytest.raises(TransferFailed) as failed:
        read_local_manifest(tmp_path)
    assert str(failed.value) == f"{tmp_path}: no manifest.json (the batch is not complete)"


# The folder's files against the manifest.


def entry_for(folder: Path, path: str, data: bytes = b"frame") -> dict[str, Any]:
    """Write ``folder/path`` holding ``data``; returns its manifest entry."""
    (folder / path).parent.mkdir(parents=True, exist_ok=True)
    (folder / path).write_bytes(data)
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_a_listed_file_with_its_size_and_digest_is_verified(tmp_path: Path):
    verify_file(tmp_path, entry_for(tmp_path, "night/sub/light.fits"))


def test_a_folder_with_the_listed_size_is_not_a_regular_file(tmp_path: Path):
    """A directory where a file is listed, whose size happens to match, is refused before
    any size or digest is read."""
    (tmp_path / "light.fits").mkdir()
    size = (tmp_path / "light.fits").lstat().st_size
    entry = {"path": "light.fits", "size": size, "sha256": DIGEST}
    with pytest.raises(TransferRefused) as refused:
        verify_file(tmp_path, entry)
    assert str(refused.value) == (
        f"refused {tmp_path / 'light.fits'}: not a regular file (symlink or special file)"
    )
    assert file_holds(tmp_path / "light.fits", size, DIGEST) is False
    assert file_matches(tmp_path, entry) is False


def test_a_symlink_to_the_right_bytes_is_not_a_regular_file(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    entry = entry_for(outside, "light.fits")
    (tmp_path / "batch").mkdir()
    (tmp_path / "batch" / "light.fits").symlink_to(outside / "light.fits")
    with pytest.raises(TransferRefused, match="not a regular file"):
        verify_file(tmp_path / "batch", entry)
    assert file_holds(tmp_path / "batch" / "light.fits", None, entry["sha256"]) is False


@pytest.mark.parametrize("linked", ["night", "night/sub"])
def test_every_parent_folder_of_a_listed_file_is_checked_for_a_symlink(tmp_path: Path, linked: str):
    """The file itself is regular, but one of the folders leading to it (the top one or a
    nested one) is a link to elsewhere."""
    outside = tmp_path / "outside"
    entry = entry_for(outside, "night/sub/light.fits")
    batch = tmp_path / "batch"
    real = outside if linked == "night" else outside / "night"
    (batch / linked).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(real / Path(linked).name, batch / linked)
    with pytest.raises(TransferRefused) as refused:
        verify_file(batch, entry)
    assert str(refused.value) == (
        f"refused {batch / entry['path']}: its folder {linked} is a symbolic link"
    )


def test_a_missing_listed_file_fails(tmp_path: Path):
    entry = {"path": "night/light.fits", "size": 5, "sha256": DIGEST}
    with pytest.raises(TransferFailed) as failed:
        verify_file(tmp_path, entry)
    path = tmp_path / "night" / "light.fits"
    assert str(failed.value) == f"{path}: listed in the manifest but missing"
    assert file_holds(path, 5, DIGEST) is False
    assert file_matches(tmp_path, entry) is False


def test_a_file_of_another_size_or_digest_does_not_match(tmp_path: Path):
    entry = entry_for(tmp_path, "light.fits")
    path = tmp_path / "light.fits"
    with pytest.raises(ChecksumMismatch) as mismatch:
        verify_file(tmp_path, {**entry, "size": 6})
    assert str(mismatch.value) == f"{path}: 5 bytes, the manifest says 6"
    with pytest.raises(ChecksumMismatch) as mismatch:
        verify_file(tmp_path, {**entry, "sha256": OTHER})
    assert str(mismatch.value) == f"{path}: sha256 {entry['sha256']}, the manifest says {OTHER}"


def test_file_holds_checks_size_only_when_given_and_always_the_digest(tmp_path: Path):
    entry = entry_for(tmp_path, "light.fits")
    path = tmp_path / "light.fits"
    assert file_holds(path, 5, entry["sha256"]) is True
    assert file_holds(path, None, entry["sha256"]) is True
    assert file_holds(path, 6, entry["sha256"]) is False
    assert file_holds(path, 5, OTHER) is False


def test_a_file_matches_only_with_the_manifest_size_and_digest(tmp_path: Path):
    """A manifest listing the right digest with a wrong size does not match: the size is
    part of what the manifest promises."""
    entry = entry_for(tmp_path, "night/light.fits")
    assert file_matches(tmp_path, entry) is True
    assert file_matches(tmp_path, {**entry, "size": 6}) is False
    assert file_matches(tmp_path, {**entry, "sha256": OTHER}) is False
