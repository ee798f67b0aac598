"""Frames to combine, given as FITS paths or arrays, read in row tiles.

A FITS file is never loaded whole: its header tells where the plain (uncompressed)
image starts (``fitslayout.py``), then rows are read with ``pread`` as they are needed
(by the kernels themselves on the fast path, by ``FrameStack.values`` otherwise), so the
memory used stays near one tile whatever the number of frames.

Values are exactly those astropy would return. 16-bit integer images with BSCALE=1 and
an integral BZERO (the usual camera output, BZERO=32768) take a fast path: the kernels
read and decode the big-endian words themselves and add BZERO.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from observatory.calibration.fitslayout import read_image_layout, scale_like_astropy
from observatory.calibration.kernels import SOURCE_BE_INT16, SOURCE_NATIVE
from observatory.errors import FrameFormatUnsupported, FrameMismatch


class ArrayLikeFrame(Protocol):
    """A CCDData-like object: anything with a 2-D ``data`` array."""

    @property
    def data(self) -> Any: ...


FrameInput = str | os.PathLike[str] | np.ndarray | ArrayLikeFrame


@dataclass(frozen=True)
class KernelFrames:
    """How a kernel reaches every frame (the ``frames`` tuple of ``kernels.py``).

    From files: descriptors and the byte positions of the images. From memory: the
    addresses of the first rows (``buffer`` keeps a decoded tile alive).
    """

    fds: np.ndarray
    positions: np.ndarray
    from_files: bool
    kind: int
    source_proto: np.ndarray
    cols: int
    row_shift: int
    offset: float
    buffer: np.ndarray | None = None

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.fds,
            self.positions,
            self.from_files,
            self.kind,
            self.source_proto,
            self.cols,
            self.row_shift,
        )


class _FitsImage:
    """One FITS file's image, open for reading rows with pread (nothing is mapped)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.layout = read_image_layout(path)
        rows, cols = self.layout.shape
        self.row_bytes = cols * self.layout.raw_dtype.itemsize
        self.fd = os.open(self.layout.path, os.O_RDONLY)
        if os.fstat(self.fd).st_size < self.layout.data_offset + rows * self.row_bytes:
            os.close(self.fd)
            raise FrameFormatUnsupported(f"{self.layout.path}: file ends inside its image data")

    def raw_rows(self, row0: int, row1: int) -> np.ndarray:
        """Rows ``row0 .. row1`` as stored (big-endian). Raises OSError on a short read."""
        raw = np.empty((row1 - row0, self.layout.shape[1]), self.layout.raw_dtype)
        view = raw.view(np.uint8).reshape(-1).data
        done, position = 0, self.layout.data_offset + row0 * self.row_bytes
        while done < len(view):
            got = os.preadv(self.fd, [view[done:]], position + done)
            if got <= 0:
                raise OSError(f"{self.layout.path}: image data ends early")
            done += got
        return raw

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class FrameStack:
    """N same-shape frames opened for tiled reading. Use as a context manager.

    ``offset`` is what kernels add to the decoded values (the BZERO of the fast 16-bit
    path, else 0). Raises FrameMismatch when shapes differ or no frame is given,
    FrameFormatUnsupported for unreadable FITS layouts, ValueError for masked frames,
    OSError for files that cannot be opened.
    """

    def __init__(self, frames: Sequence[FrameInput]):
        if len(frames) == 0:
            raise FrameMismatch("no frames to combine")
        self._frames: list[_FitsImage | np.ndarray] = []
        self.names: list[str] = []
        try:
            for index, frame in enumerate(frames):
                self._frames.append(_open(index, frame))
                self.names.append(_name(index, frame))
            self.shape = self._common_shape()
        except BaseException:
            self.close()
            raise
        self.count = len(frames)
        files = [frame for frame in self._frames if isinstance(frame, _FitsImage)]
        self.fast_int16 = (
            len(files) == self.count
            and all(frame.layout.fast_int16 for frame in files)
            and len({frame.layout.bzero for frame in files}) == 1
        )
        self.offset = float(files[0].layout.bzero) if self.fast_int16 else 0.0
        self.value_dtype = np.result_type(*(_value_dtype(frame) for frame in self._frames))
        self._direct = self._direct_frames()

    def _common_shape(self) -> tuple[int, int]:
        shapes = {
            frame.layout.shape if isinstance(frame, _FitsImage) else frame.shape
            for frame in self._frames
        }
        if len(shapes) != 1:
            raise FrameMismatch(f"frames differ in shape: {sorted(shapes)}")
        rows, cols = shapes.pop()
        return rows, cols

    def _direct_frames(self) -> KernelFrames | None:
        """How kernels read the whole frames without a decoded tile, else None."""
        cols = self.shape[1]
        if self.fast_int16:
            files = [frame for frame in self._frames if isinstance(frame, _FitsImage)]
            fds = np.array([frame.fd for frame in files], np.int32)
            positions = np.array([frame.layout.data_offset for frame in files], np.int64)
            proto = np.empty(0, np.uint16)
            return KernelFrames(fds, positions, True, SOURCE_BE_INT16, proto, cols, 0, self.offset)
        arrays = [frame for frame in self._frames if isinstance(frame, np.ndarray)]
        if len(arrays) == self.count:
            dtype = kernel_dtype(self.value_dtype)
            # Converted copies replace the originals so they live as long as the stack.
            converted = [np.ascontiguousarray(array, dtype=dtype) for array in arrays]
            self._frames = list(converted)
            addresses = np.array([array.ctypes.data for array in converted], np.int64)
            fds = np.zeros(self.count, np.int32)
            proto = np.empty(0, dtype)
            return KernelFrames(fds, addresses, False, SOURCE_NATIVE, proto, cols, 0, 0.0)
        return None

    @property
    def tile_bytes_per_value(self) -> int:
        """Bytes per value that a Python-side tile holds per frame (0: none needed,
        the kernels read the frames directly)."""
        if self._direct is not None:
            return 0
        decoded = kernel_dtype(self.value_dtype).itemsize
        return max(
            frame.layout.raw_dtype.itemsize + decoded if isinstance(frame, _FitsImage) else 0
            for frame in self._frames
        )

    @property
    def kernel_itemsize(self) -> int:
        """Bytes per value as the kernels read them."""
        return 2 if self.fast_int16 else kernel_dtype(self.value_dtype).itemsize

    def kernel_frames(self, row0: int, row1: int) -> KernelFrames:
        """Frames for a kernel working on rows ``row0 .. row1``.

        Read directly when possible; otherwise the tile is decoded (astropy's values)
        into a new contiguous buffer, which the returned object keeps alive.
        """
        if self._direct is not None:
            return self._direct
        dtype = kernel_dtype(self.value_dtype)
        tile = np.empty((self.count, row1 - row0, self.shape[1]), dtype)
        for k in range(self.count):
            tile[k] = self.values(k, row0, row1)
        addresses = tile.ctypes.data + np.arange(self.count, dtype=np.int64) * tile[0].nbytes
        fds = np.zeros(self.count, np.int32)
        proto = np.empty(0, dtype)
        return KernelFrames(
            fds, addresses, False, SOURCE_NATIVE, proto, self.shape[1], row0, 0.0, tile
        )

    def values(self, k: int, row0: int, row1: int) -> np.ndarray:
        """Frame k's rows ``row0 .. row1``: astropy's values, or on the fast 16-bit path
        the raw int16 words (add ``offset`` for the values)."""
        frame = self._frames[k]
        if isinstance(frame, np.ndarray):
            return frame[row0:row1]
        raw = frame.raw_rows(row0, row1)
        if self.fast_int16:
            return raw.astype(np.int16)
        return scale_like_astropy(raw, frame.layout)

    def close(self) -> None:
        """Close every file; safe to call twice."""
        self._direct = None
        for frame in self._frames:
            if isinstance(frame, _FitsImage):
                frame.close()

    def __enter__(self) -> "FrameStack":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _open(index: int, frame: FrameInput) -> _FitsImage | np.ndarray:
    if isinstance(frame, str | os.PathLike):
        return _FitsImage(frame)
    mask = getattr(frame, "mask", None)
    if mask is not None and np.any(mask):
        raise ValueError(f"frame {index} has masked pixels; masks are not supported")
    data = np.asarray(getattr(frame, "data", frame))
    if data.ndim != 2:
        raise FrameMismatch(f"frame {index} is not 2-D (shape {data.shape})")
    return data


def input_names(frames: Sequence[FrameInput], names: Sequence[str] | None = None) -> list[str]:
    """Labels of the inputs for provenance: ``names`` when given (one per frame), else
    file names, or ``array[k]`` for in-memory frames. Raises ValueError on a count
    mismatch."""
    if names is None:
        return [_name(index, frame) for index, frame in enumerate(frames)]
    if len(names) != len(frames):
        raise ValueError(f"{len(names)} names given for {len(frames)} frames")
    return [str(name) for name in names]


def _name(index: int, frame: FrameInput) -> str:
    if isinstance(frame, str | os.PathLike):
        return Path(frame).name
    return f"array[{index}]"


def _value_dtype(frame: _FitsImage | np.ndarray) -> np.dtype:
    """The dtype of the frame's values once decoded (astropy's, for a file)."""
    if isinstance(frame, np.ndarray):
        return frame.dtype
    probe = np.zeros(1, dtype=frame.layout.raw_dtype)
    return scale_like_astropy(probe, frame.layout).dtype


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
