"""The proof suite: faults survived, bad input refused, more hosts used.

Every test here carries the ``proof`` marker, so the suite runs apart with
``pytest -m proof`` (and with the rest of the tests in CI).
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(__file__.rsplit("/", 1)[0]):
            item.add_marker(pytest.mark.proof)
