"""ImageBytes decoding: axes, element types and error replies."""

from __future__ import annotations

import numpy as np
import pytest
from alpaca.exceptions import InvalidOperationException

from observatory.devices.camera import as_uint16, decode_imagebytes
from observatory.errors import DeviceError


def imagebytes(pixels_xy: np.ndarray, transmission: int, error: int = 0) -> bytes:
    header = np.array(
        [1, error, 0, 0, 44, 2, transmission, 2, pixels_xy.shape[0], pixels_xy.shape[1], 0],
        dtype="<i4",
    )
    return header.tobytes() + pixels_xy.tobytes()


def test_x_y_order_becomes_rows_and_columns() -> None:
    image_xy = np.arange(12, dtype="<u2").reshape(4, 3)  # 4 columns (x), 3 rows (y)
    decoded = decode_imagebytes(imagebytes(image_xy, 8), "camera")
    assert decoded.shape == (3, 4) and decoded.dtype == np.uint16
    assert decoded[2, 1] == image_xy[1, 2]


def test_int32_pixels_are_narrowed_and_out_of_range_refused() -> None:
    image_xy = np.array([[0, 65535], [7, 8]], dtype="<i4")
    assert decode_imagebytes(imagebytes(image_xy, 2), "camera").tolist() == [[0, 7], [65535, 8]]
    with pytest.raises(DeviceError, match=r"outside 0\.\.65535"):
        as_uint16(np.array([[70000]]), "camera")


def test_error_reply_raises_the_alpaca_error_and_bad_bodies_are_device_errors() -> None:
    body = np.array([1, 0x40B, 0, 0, 44, 0, 0, 0, 0, 0, 0], "<i4").tobytes() + b"no image"
    with pytest.raises(InvalidOperationException, match="no image"):
        decode_imagebytes(body, "camera")
    with pytest.raises(DeviceError, match="less than"):
        decode_imagebytes(b"\0" * 10, "camera")
    with pytest.raises(DeviceError, match="pixels for"):
        decode_imagebytes(imagebytes(np.zeros((4, 4), "<u2"), 8)[:-2], "camera")
