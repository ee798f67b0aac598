"""FITS checksums: the standard's sums and encoding, and files verified on their bytes.

astropy's implementation (numpy, one header written out again) is the independent
reference for the sums and the encoding; the files are written by astropy as capture
programs write them (plain, several extensions, a tile-compressed image) and broken
the ways files break (a flipped bit in the data or a header, a cut tail).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from observatory.calibration import checksums

REFERENCE = fits.PrimaryHDU()


def spans(path: Path) -> list[tuple[int, int, int]]:
    with fits.open(path, memmap=False) as hdus:
        return checksums.spans_of(hdus)


def verify(path: Path) -> list[str]:
    return checksums.verify_file(path, spans(path))


def test_the_encoding_is_the_standards() -> None:
    values = np.random.default_rng(3).integers(0, 2**32, 3000)
    # Bytes whose spread lands on punctuation and must be moved, and the extremes.
    edges = [0, 0xFFFFFFFF, 0x28282828, 0x2C2C2C2C, 0x50505050, 0xE0E0E0E0, 0x0A0B0C0D]
    for value in [*map(int, values), *edges]:
        assert checksums.encode(value) == REFERENCE._char_encode(np.uint32(value)), hex(value)


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 5, 7, 2879, 2880, 100_003])
def test_sums_are_the_standards(length: int) -> None:
    data = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8)
    for start in (0, 1, 0xFFFFFFFF, 123_456_789):
        expected = int(REFERENCE._compute_checksum(data, start))
        assert checksums.ones_complement_sum(data, start) == expected
        assert checksums.ones_complement_sum(data.tobytes(), start) == expected
        # A buffer that does not start on a word: a slice of a file's bytes.
        unaligned = memoryview(b"x" + data.tobytes())[1:]
        assert checksums.ones_complement_sum(unaligned, start) == expected


def test_sums_carry_across_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Words summed a few at a time (as 2**30 are on a frame of 4 GB) fold the same."""
    data = np.full(4 * 1001, 0xFF, dtype=np.uint8)
    data[::7] = 0x80
    expected = int(REFERENCE._compute_checksum(data))
    monkeypatch.setattr(checksums, "_WORDS_PER_CALL", 10)
    assert checksums.ones_complement_sum(data) == expected


def test_either_kernel_gives_the_same_sum() -> None:
    """The big-endian machine's kernel, on the words as that machine holds them."""
    words = np.random.default_rng(5).integers(0, 2**32, 10_001, dtype=np.uint64).astype(np.uint32)
    assert checksums._sum_native(words.byteswap()) == checksums._sum_swapped(words)


def write_files(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    image = rng.normal(1000, 30, (300, 410)).astype(np.float32)
    counts = rng.integers(0, 60000, (256, 300)).astype(np.uint16)
    sci, err = fits.ImageHDU(counts, name="SCI"), fits.ImageHDU(image[:10], name="ERR")
    tiles = fits.CompImageHDU(counts, compression_type="RICE_1")
    files = {
        "plain": fits.HDUList([fits.PrimaryHDU(image)]),
        "extensions": fits.HDUList([fits.PrimaryHDU(), sci, err]),
        "compressed": fits.HDUList([fits.PrimaryHDU(), tiles]),
    }
    paths = {}
    for name, hdus in files.items():
        paths[name] = folder / f"{name}.fits"
        hdus.writeto(paths[name], checksum=True)
    return paths


def test_files_written_with_checksums_verify(tmp_path: Path) -> None:
    for path in write_files(tmp_path).values():
        assert verify(path) == [], path.name


def test_a_file_without_checksum_cards_has_nothing_to_verify(tmp_path: Path) -> None:
    path = tmp_path / "bare.fits"
    fits.PrimaryHDU(np.ones((20, 30), np.int16)).writeto(path)
    assert verify(path) == []


@pytest.mark.parametrize("name", ["plain", "extensions", "compressed"])
def test_a_flipped_data_bit_fails_both_cards_of_its_hdu(tmp_path: Path, name: str) -> None:
    path = write_files(tmp_path)[name]
    last = spans(path)[-1]
    raw = bytearray(path.read_bytes())
    raw[last[1] + 17] ^= 0x04
    path.write_bytes(raw)
    index = len(spans(path)) - 1
    assert verify(path) == [f"Datasum verification failed for HDU {index}",
                            f"Checksum verification failed for HDU {index}"]  # fmt: skip


def test_a_changed_header_fails_its_checksum_only(tmp_path: Path) -> None:
    path = write_files(tmp_path)["extensions"]
    raw = bytearray(path.read_bytes())
    at = raw.index(b"EXTNAME = 'SCI")
    raw[at + 11 : at + 14] = b"ERR"
    path.write_bytes(raw)
    assert verify(path) == ["Checksum verification failed for HDU 1"]


def test_a_datasum_that_is_not_a_number_fails(tmp_path: Path) -> None:
    path = write_files(tmp_path)["plain"]
    raw = bytearray(path.read_bytes())
    at = raw.index(b"DATASUM = '") + len("DATASUM = '")
    raw[at : at + 3] = b"abc"
    path.write_bytes(raw)
    assert "Datasum verification failed for HDU 0" in verify(path)


def test_a_datasum_written_as_a_number_is_read_as_one(tmp_path: Path) -> None:
    """Some programs write DATASUM unquoted; astropy reads it, and so does this."""
    path = tmp_path / "numeric-datasum.fits"
    hdu = fits.PrimaryHDU(np.arange(600, dtype=">i2").reshape(20, 30))
    hdu.header["DATASUM"] = checksums.ones_complement_sum(hdu.data.tobytes())
    hdu.writeto(path, checksum=False)
    assert b"DATASUM =" in path.read_bytes() and b"DATASUM = '" not in path.read_bytes()
    assert verify(path) == []
    raw = bytearray(path.read_bytes())
    raw[2880 + 7] ^= 0x01
    path.write_bytes(raw)
    assert verify(path) == ["Datasum verification failed for HDU 0"]


def test_a_cut_file_fails(tmp_path: Path) -> None:
    path = write_files(tmp_path)["plain"]
    places = spans(path)
    path.write_bytes(path.read_bytes()[: places[0][1] + 1000])
    assert "Datasum verification failed for HDU 0" in checksums.verify_file(path, places)


def test_a_checksum_without_datasum_covers_the_data_too(tmp_path: Path) -> None:
    """The standard: CHECKSUM makes the whole HDU sum to -0, DATASUM or not. (astropy
    takes the data as summing to zero when DATASUM is absent.)"""
    path = tmp_path / "checksum-only.fits"
    hdu = fits.PrimaryHDU(np.arange(600, dtype=">i2").reshape(20, 30))
    hdu.header["CHECKSUM"] = "0" * 16
    data = checksums.ones_complement_sum(hdu.data.tobytes())
    header = hdu.header.tostring().encode("ascii")
    hdu.header["CHECKSUM"] = checksums.encode(~checksums.ones_complement_sum(header, data))
    hdu.writeto(path, checksum=False)
    assert verify(path) == []
    raw = bytearray(path.read_bytes())
    raw[2880 + 5] ^= 0x01
    path.write_bytes(raw)
    assert verify(path) == ["Checksum verification failed for HDU 0"]


def test_files_are_read_a_buffer_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checksums, "CHUNK", 2880)
    paths = write_files(tmp_path)
    assert verify(paths["compressed"]) == []
    raw = bytearray(paths["plain"].read_bytes())
    raw[-100] ^= 0x10
    paths["plain"].write_bytes(raw)
    assert len(verify(paths["plain"])) == 2
