"""Frames to combine, given as FITS paths or arrays, read in row tiles.

A FITS file is memory-mapped, never loaded whole: its header is parsed with astropy to
find where the plain (uncompressed) image starts, and the rows of one tile are read
from the mapping. Released tiles are dropped from the process (``MADV_DONTNEED``), so
the resident memory stays near one tile whatever the number of frames.

Values are exactly those astropy would return: BZERO/BSCALE/BLANK are applied with
astropy's rules (unsigned-integer convention, float32 for scaled 8/16-bit data,
float64 for 32/64-bit). 16-bit integer images with BSCALE=1 and an integral BZERO (the
usual camera output, BZERO=32768) take a fast path: the kernels read the big-endian
words in place and add BZERO themselves.
"""

import mmap
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from astropy.io import fits

from observatory.calibration.kernels import SOURCE_BE_INT16, SOURCE_NATIVE
from observatory.errors import FrameFormatUnsupported, FrameMismatch


class ArrayLikeFrame(Protocol):
    """A CCDData-like object: anything with a 2-D ``data`` array."""

    data: Any


FrameInput = str | os.PathLike[str] | np.ndarray | ArrayLikeFrame

_BITPIX_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}
# |value| + |BZERO| must stay below 2**24 for float32 to hold every value exactly.
_FAST_BZERO_LIMIT = 2**23


@dataclass(frozen=True)
class ImageLayout:
    """Where a FITS file's 2-D image lies and how its stored numbers become values."""

    path: Path
    data_offset: int
    shape: tuple[int, int]
    bitpix: int
    bscale: float
    bzero: float
    blank: int | None

    @property
    def raw_dtype(self) -> np.dtype:
        return np.dtype(_BITPIX_DTYPES[self.bitpix])

    @property
    def fast_int16(self) -> bool:
        """True when the kernels may decode the words themselves (int16 + BZERO)."""
        integral = float(self.bzero).is_integer() and abs(self.bzero) <= _FAST_BZERO_LIMIT
        unsigned = self.bzero == 32768  # astropy ignores BLANK for unsigned data
        return (
            self.bitpix == 16
            and self.bscale == 1
            and integral
            and (self.blank is None or unsigned)
        )


def read_image_layout(path: str | os.PathLike[str]) -> ImageLayout:
    """Locate the first HDU holding a 2-D image (primary, else an image extension).

    Raises FrameFormatUnsupported for a file with no 2-D image, a compressed image or
    a random-groups file; OSError when it cannot be read.
    """
    path = Path(path)
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
        for index, hdu in enumerate(hdus):
            header = hdu.header
            if isinstance(hdu, fits.CompImageHDU | fits.GroupsHDU):
                raise FrameFormatUnsupported(f"{path}: HDU {index} is compressed or grouped")
            if header.get("NAXIS") == 2 and isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU):
                bitpix = int(header["BITPIX"])
                return ImageLayout(
                    path=path,
                    data_offset=int(hdus.fileinfo(index)["datLoc"]),
                    shape=(int(header["NAXIS2"]), int(header["NAXIS1"])),
                    bitpix=bitpix,
                    bscale=header.get("BSCALE", 1),
                    bzero=header.get("BZERO", 0),
                    blank=header.get("BLANK") if bitpix > 0 else None,
                )
    raise FrameFormatUnsupported(f"{path}: no HDU holds a 2-D image")


def scale_like_astropy(raw: np.ndarray, layout: ImageLayout) -> np.ndarray:
    """Apply BZERO/BSCALE/BLANK to big-endian ``raw`` values exactly as astropy does.

    Mirrors ``astropy.io.fits`` ``ImageHDU._scale_data`` (uint=True, the default), so
    the values are bit-identical to ``fits.getdata`` and ``CCDData.read``.
    """
    bitpix, bscale, bzero = layout.bitpix, layout.bscale, layout.bzero
    if bzero == 0 and bscale == 1 and layout.blank is None:
        return raw.astype(raw.dtype.newbyteorder("="))
    unsigned = {16: np.uint16, 32: np.uint32, 64: np.uint64}
    if bscale == 1 and bitpix in unsigned and bzero == 1 << (bitpix - 1):
        data = np.array(raw, dtype=unsigned[bitpix])
        data -= np.uint64(1 << (bitpix - 1)).astype(data.dtype)
        return data
    if bscale == 1 and bitpix == 8 and bzero == -128:
        return np.array(raw, dtype=np.int8) - np.int8(-128)
    blanks = raw == layout.blank if layout.blank is not None else None
    native = np.float32 if 0 < bitpix <= 16 else np.float64 if bitpix > 16 else raw.dtype
    data = np.array(raw, dtype=np.dtype(native).newbyteorder("="))
    if bscale != 1:
        np.multiply(data, bscale, data)
    if bzero != 0:
        data += bzero
    if blanks is not None:
        data[blanks] = np.nan
    return data


@dataclass(frozen=True)
class KernelFrames:
    """What a kernel needs to read rows ``row0 .. row1`` of every frame in place."""

    addresses: np.ndarray
    kind: int
    source_proto: np.ndarray
    frame_rows: int
    row_shift: int
    offset: float
    buffer: np.ndarray | None = None  # a decoded tile that the addresses point into


class FrameStack:
    """N same-shape frames opened for tiled reading. Use as a context manager.

    ``offset`` is added to the decoded values by the kernels (the BZERO of the fast
    16-bit path, else 0). Raises FrameMismatch when shapes differ or no frame is given,
    FrameFormatUnsupported for unreadable FITS layouts, ValueError for masked frames.
    """

    def __init__(self, frames: Sequence[FrameInput]):
        if len(frames) == 0:
            raise FrameMismatch("no frames to combine")
        self._maps: list[mmap.mmap | None] = []
        self._layouts: list[ImageLayout | None] = []
        self._arrays: list[np.ndarray | None] = []
        self.names: list[str] = []
        try:
            for index, frame in enumerate(frames):
                self._open(index, frame)
        except BaseException:
            self.close()
            raise
        self.count = len(frames)
        self.shape = self._common_shape()
        self.fast_int16 = self._fast_int16()
        self.offset = float(self._layouts[0].bzero) if self.fast_int16 else 0.0  # type: ignore[union-attr]
        self.value_dtype = self._value_dtype()
        self._direct = self._direct_frames()

    def _open(self, index: int, frame: FrameInput) -> None:
        if isinstance(frame, str | os.PathLike):
            layout = read_image_layout(frame)
            with open(layout.path, "rb") as handle:
                mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            end = layout.data_offset + layout.shape[0] * layout.shape[1] * layout.raw_dtype.itemsize
            if len(mapping) < end:
                mapping.close()
                raise FrameFormatUnsupported(f"{layout.path}: file ends inside its image data")
            if hasattr(mmap, "MADV_SEQUENTIAL"):
                mapping.madvise(mmap.MADV_SEQUENTIAL)
            self._maps.append(mapping)
            self._layouts.append(layout)
            self._arrays.append(None)
            self.names.append(layout.path.name)
            return
        mask = getattr(frame, "mask", None)
        if mask is not None and np.any(mask):
            raise ValueError(f"frame {index} has masked pixels; masks are not supported")
        data = np.asarray(getattr(frame, "data", frame))
        if data.ndim != 2:
            raise FrameMismatch(f"frame {index} is not 2-D (shape {data.shape})")
        self._maps.append(None)
        self._layouts.append(None)
        self._arrays.append(data)
        self.names.append(f"array[{index}]")

    def _common_shape(self) -> tuple[int, int]:
        shapes = [
            layout.shape if layout is not None else array.shape  # type: ignore[union-attr]
            for layout, array in zip(self._layouts, self._arrays, strict=True)
        ]
        if len(set(shapes)) != 1:
            raise FrameMismatch(f"frames differ in shape: {sorted(set(shapes))}")
        return shapes[0]

    def _fast_int16(self) -> bool:
        layouts = self._layouts
        return all(layout is not None and layout.fast_int16 for layout in layouts) and (
            len({layout.bzero for layout in layouts if layout is not None}) == 1
        )

    def _value_dtype(self) -> np.dtype:
        """The dtype that the values take once decoded (astropy's for files)."""
        dtypes = []
        for layout, array in zip(self._layouts, self._arrays, strict=True):
            if array is not None:
                dtypes.append(array.dtype)
            else:
                probe = np.zeros(1, dtype=layout.raw_dtype)  # type: ignore[union-attr]
                dtypes.append(scale_like_astropy(probe, layout).dtype)  # type: ignore[arg-type]
        return np.result_type(*dtypes)

    def _direct_frames(self) -> KernelFrames | None:
        """Kernel view of the whole frames when they can be read in place, else None."""
        rows, cols = self.shape
        if self.fast_int16:
            addresses = [
                np.frombuffer(m, np.uint8, count=1, offset=lay.data_offset).ctypes.data  # type: ignore[union-attr]
                for m, lay in zip(self._maps, self._layouts, strict=True)
            ]
            proto = np.empty(0, np.uint16)
            return KernelFrames(np.array(addresses, np.int64), SOURCE_BE_INT16, proto, rows, 0,
                                self.offset)  # fmt: skip
        if all(array is not None for array in self._arrays):
            dtype = kernel_dtype(self.value_dtype)
            arrays = [np.ascontiguousarray(a, dtype=dtype) for a in self._arrays]  # type: ignore[arg-type]
            self._arrays = list(arrays)  # keeps converted copies alive while in use
            addresses = np.array([a.ctypes.data for a in arrays], np.int64)
            return KernelFrames(addresses, SOURCE_NATIVE, np.empty(0, dtype), rows, 0, 0.0)
        return None

    @property
    def source_itemsize(self) -> int:
        """Bytes per value read from each frame (what one tile maps or decodes)."""
        if self.fast_int16:
            return 2
        return max(
            layout.raw_dtype.itemsize + kernel_dtype(self.value_dtype).itemsize
            if layout is not None
            else 0
            for layout in self._layouts
        )

    def kernel_frames(self, row0: int, row1: int) -> KernelFrames:
        """Frames for a kernel working on rows ``row0 .. row1``.

        In place when possible; otherwise the tile is decoded (astropy's values) into a
        new contiguous buffer, which the returned object keeps alive.
        """
        if self._direct is not None:
            return self._direct
        dtype = kernel_dtype(self.value_dtype)
        tile = np.empty((self.count, row1 - row0, self.shape[1]), dtype)
        for k in range(self.count):
            tile[k] = self.values(k, row0, row1)
        addresses = tile.ctypes.data + np.arange(self.count, dtype=np.int64) * tile[0].nbytes
        proto = np.empty(0, dtype)
        return KernelFrames(addresses, SOURCE_NATIVE, proto, row1 - row0, row0, 0.0, tile)

    def values(self, k: int, row0: int, row1: int) -> np.ndarray:
        """Frame k's rows ``row0 .. row1``: astropy's values, or raw int16 on the fast path
        (add ``offset`` for the value)."""
        array = self._arrays[k]
        if array is not None:
            return array[row0:row1]
        layout = self._layouts[k]
        assert layout is not None
        cols = layout.shape[1]
        raw = np.frombuffer(
            self._maps[k],  # type: ignore[arg-type]
            dtype=layout.raw_dtype,
            count=(row1 - row0) * cols,
            offset=layout.data_offset + row0 * cols * layout.raw_dtype.itemsize,
        ).reshape(row1 - row0, cols)
        if self.fast_int16:
            return raw.astype(np.int16)
        return scale_like_astropy(raw, layout)

    def release(self, row0: int, row1: int) -> None:
        """Drop the mapped pages of rows before ``row1`` from this process (kept in the
        page cache); ``row0`` is where the finished tile began."""
        page = mmap.PAGESIZE
        for mapping, layout in zip(self._maps, self._layouts, strict=True):
            if mapping is None or layout is None or not hasattr(mmap, "MADV_DONTNEED"):
                continue
            row_bytes = layout.shape[1] * layout.raw_dtype.itemsize
            start = (layout.data_offset + row0 * row_bytes) // page * page
            stop = (layout.data_offset + row1 * row_bytes) // page * page
            if stop > start:
                mapping.madvise(mmap.MADV_DONTNEED, start, stop - start)

    def close(self) -> None:
        """Unmap every file; safe to call twice."""
        self._direct = None
        for mapping in self._maps:
            if mapping is not None and not mapping.closed:
                mapping.close()

    def __enter__(self) -> "FrameStack":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def kernel_dtype(value_dtype: np.dtype) -> np.dtype:
    """The dtype kernels read values in: small integers and floats as they are, wider
    integers as float64 (which holds every value up to 2**53 exactly)."""
    value_dtype = np.dtype(value_dtype)
    if value_dtype.kind == "f" and value_dtype.itemsize in (4, 8):
        return value_dtype
    if value_dtype.kind in "iu" and value_dtype.itemsize <= 2:
        return value_dtype
    if value_dtype.kind == "b":
        return np.dtype(np.uint8)
    return np.dtype(np.float64)
