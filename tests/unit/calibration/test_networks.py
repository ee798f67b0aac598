"""Comparator networks: they sort, and the pruned one finds the median."""

import itertools

import numpy as np
import pytest

from observatory.calibration.networks import median_network, median_positions, sorting_network


def apply(network: np.ndarray, values: np.ndarray) -> np.ndarray:
    values = values.copy()
    for i, j in network:
        low = np.minimum(values[:, i], values[:, j])
        high = np.maximum(values[:, i], values[:, j])
        values[:, i], values[:, j] = low, high
    return values


@pytest.mark.parametrize("count", range(1, 13))
def test_network_sorts_every_zero_one_input(count):
    # 0-1 principle: a network that sorts every 0/1 input sorts every input.
    inputs = np.array(list(itertools.product((0, 1), repeat=count)), dtype=np.int8)
    result = apply(sorting_network(count), inputs)
    assert np.all(np.diff(result, axis=1) >= 0)


@pytest.mark.parametrize("count", [13, 20, 31, 50, 64, 65])
def test_network_sorts_random_inputs(count):
    inputs = np.random.default_rng(count).integers(0, 5, (3000, count))
    assert np.array_equal(apply(sorting_network(count), inputs), np.sort(inputs, axis=1))


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 9, 10, 20, 21, 50])
def test_median_network_finds_the_median(count):
    inputs = np.random.default_rng(count).normal(size=(2000, count))
    result = apply(median_network(count), inputs)
    low, high = median_positions(count)
    assert np.array_equal((result[:, low] + result[:, high]) / 2, np.median(inputs, axis=1))
    assert len(median_network(count)) <= len(sorting_network(count))


def test_median_network_is_smaller_than_a_sort():
    assert len(sorting_network(20)) == 97
    assert len(median_network(20)) == 81


def test_networks_are_read_only_and_refuse_empty():
    with pytest.raises(ValueError):
        sorting_network(20)[0, 0] = 1
    with pytest.raises(ValueError):
        sorting_network(0)
    with pytest.raises(ValueError):
        median_positions(0)
