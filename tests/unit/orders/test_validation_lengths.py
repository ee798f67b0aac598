"""Text too long or blank is told in characters, as a submitter counts."""

from __future__ import annotations

import pytest

from observatory.errors import WorkOrderInvalid
from observatory.orders.validation import parse_order


def dome_open(**fields: object) -> dict[str, object]:
    return {"id": "1", "request": "dome_open", "datetime": "2026-11-23T21:00:00", "user": "u",
            **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "x" * 200}, "id: should have at most 128 characters, not 200"),
        ({"user": "u" * 129}, "user: should have at most 128 characters, not 129"),
        ({"id": "   "}, "id: should not be blank"),
        ({"user": ""}, "user: should not be blank"),
    ],
)
def test_lengths_are_counted_in_characters(fields: dict[str, object], message: str) -> None:
    with pytest.raises(WorkOrderInvalid) as refused:
        parse_order(dome_open(**fields))
    assert str(refused.value) == message
