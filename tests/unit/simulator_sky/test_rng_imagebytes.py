"""Counter-based noise statistics and the ImageBytes / JSON wire forms."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from scipy import stats

from observatory.simulator.sky import rng
from observatory.simulator.sky.imagebytes import (
    HEADER_BYTES,
    ElementType,
    decode_imagebytes,
    encode_imagebytes,
    encode_json_value,
)


def test_normal_field_is_standard_normal() -> None:
    values = rng.normal_field(rng.stream_key(1, "test"), (1000, 1000)).astype(np.float64).ravel()
    assert abs(values.mean()) < 0.005
    assert values.std() == pytest.approx(1.0, abs=0.003)
    assert stats.kurtosis(values) == pytest.approx(0.0, abs=0.03)
    assert (np.abs(values) > 4).mean() == pytest.approx(2 * stats.norm.sf(4), rel=0.3)
    assert stats.kstest(values[:200_000], "norm").pvalue > 0.001


def test_streams_are_independent_and_repeatable() -> None:
    a = rng.normal_field(rng.stream_key(1, "a"), (300, 300))
    b = rng.normal_field(rng.stream_key(1, "b"), (300, 300))
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.01
    np.testing.assert_array_equal(a, rng.normal_field(rng.stream_key(1, "a"), (300, 300)))
    assert rng.stream_key(1, "ab", "c") != rng.stream_key(1, "a", "bc")


def test_imagebytes_header_and_y_fastest_order() -> None:
    image = np.arange(12, dtype=np.uint16).reshape(3, 4)  # [x][y]: 3 columns of 4
    body = encode_imagebytes(image, client_transaction_id=7, server_transaction_id=9)
    header = np.frombuffer(body[:HEADER_BYTES], "<i4").tolist()
    assert header == [1, 0, 7, 9, 44, int(ElementType.INT32), int(ElementType.UINT16), 2, 3, 4, 0]
    pixels = np.frombuffer(body[HEADER_BYTES:], "<u2")
    assert pixels[:5].tolist() == [0, 1, 2, 3, 4]  # image[0][0..3], then image[1][0]
    decoded_header, decoded = decode_imagebytes(body)
    assert decoded_header["dimension1"] == 3
    np.testing.assert_array_equal(decoded, image)


def test_imagebytes_refuses_other_ranks() -> None:
    with pytest.raises(ValueError):
        encode_imagebytes(np.zeros((2, 2, 3), np.uint16), 0, 1)


def test_json_value_nests_x_then_y() -> None:
    image = np.array([[1, 2, 3], [65535, 0, 7]], dtype=np.uint16)
    assert orjson.loads(encode_json_value(image)) == [[1, 2, 3], [65535, 0, 7]]
