"""The two wire forms of an Alpaca ``ImageArray``: ImageBytes and JSON.

ImageBytes (``Accept: application/imagebytes``): a 44-byte little-endian header of eleven
4-byte fields (metadata version 1, error number, client and server transaction ids, data
start 44, image element type, transmission element type, rank, dimension 1, dimension 2,
dimension 3) followed by the pixels with the last index varying fastest. Images here are
``[x, y]`` arrays in C order, so that is exactly the array's memory.

The two transaction ids are UInt32 (ASCOM's ``ArrayMetadataV1``; the JSON replies' ids
are uint32 1..4294967295 too), every other field Int32: an id above 2**31 - 1 is legal.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import orjson
from numpy.typing import NDArray

HEADER_BYTES = 44
METADATA_VERSION = 1
HEADER_FIELDS = ("version", "error_number", "client_transaction_id", "server_transaction_id",
                 "data_start", "image_element_type", "transmission_element_type", "rank",
                 "dimension1", "dimension2", "dimension3")  # fmt: skip
# ArrayMetadataV1: the transaction ids are unsigned, the rest signed.
HEADER_DTYPE = np.dtype(
    [(name, "<u4" if name.endswith("transaction_id") else "<i4") for name in HEADER_FIELDS]
)


class ElementType(IntEnum):
    """ASCOM ImageArrayElementTypes."""

    UNKNOWN = 0
    INT16 = 1
    INT32 = 2
    DOUBLE = 3
    SINGLE = 4
    UINT64 = 5
    BYTE = 6
    INT64 = 7
    UINT16 = 8
    UINT32 = 9


_TRANSMISSION: dict[np.dtype[np.generic], ElementType] = {
    np.dtype(np.uint8): ElementType.BYTE,
    np.dtype(np.int16): ElementType.INT16,
    np.dtype(np.uint16): ElementType.UINT16,
    np.dtype(np.int32): ElementType.INT32,
    np.dtype(np.float64): ElementType.DOUBLE,
}


def encode_imagebytes(
    image: NDArray[np.generic],
    client_transaction_id: int,
    server_transaction_id: int,
    image_element_type: ElementType = ElementType.INT32,
) -> bytes:
    """ImageBytes of a rank-2 ``[x, y]`` image, sent in its own dtype (uint16 -> type 8).

    Raises ValueError for an image that is not rank 2 or a dtype with no ASCOM type.
    """
    if image.ndim != 2:
        raise ValueError(f"only rank-2 images are supported, got rank {image.ndim}")
    transmission = _TRANSMISSION.get(image.dtype)
    if transmission is None:
        raise ValueError(f"no ImageBytes element type for {image.dtype}")
    header = np.array(
        (
            METADATA_VERSION, 0, client_transaction_id, server_transaction_id, HEADER_BYTES,
            int(image_element_type), int(transmission), 2, image.shape[0], image.shape[1], 0,
        ),
        dtype=HEADER_DTYPE,
    )  # fmt: skip
    pixels = np.ascontiguousarray(image, dtype=image.dtype.newbyteorder("<"))
    return header.tobytes() + pixels.tobytes()


def decode_imagebytes(body: bytes) -> tuple[dict[str, int], NDArray[np.generic]]:
    """Header fields and ``[x, y]`` pixels of an ImageBytes body (for tests and clients).

    Raises ValueError for a short body, an error reply or an unknown element type.
    """
    if len(body) < HEADER_BYTES:
        raise ValueError(f"an ImageBytes body has at least {HEADER_BYTES} bytes")
    fields = np.frombuffer(body[:HEADER_BYTES], HEADER_DTYPE)[0].tolist()
    header = dict(zip(HEADER_FIELDS, fields, strict=True))
    if header["error_number"] != 0:
        raise ValueError(f"ImageBytes error {header['error_number']:#x}: {body[44:]!r}")
    dtypes: dict[ElementType, np.dtype[np.generic]] = {v: k for k, v in _TRANSMISSION.items()}
    dtype = dtypes.get(ElementType(header["transmission_element_type"]))
    if dtype is None:
        raise ValueError(f"unsupported element type {header['transmission_element_type']}")
    shape = (header["dimension1"], header["dimension2"])
    pixels = np.frombuffer(body, dtype.newbyteorder("<"), offset=header["data_start"])
    return header, pixels.reshape(shape)


def encode_json_value(image: NDArray[np.generic]) -> bytes:
    """The JSON ``Value`` of an image: nested lists ``[x][y]`` (orjson, no Python loop)."""
    return orjson.dumps(image, option=orjson.OPT_SERIALIZE_NUMPY)
