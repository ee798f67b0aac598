"""Releasing a held queue and publishing what waited on it, in one call for the CLI, the
HTTP intake and other programs (holding is :func:`observatory.orders.hold.hold`)."""

from __future__ import annotations

from observatory.intake import Publisher, publish_order
from observatory.orders.hold import release
from observatory.settings import Settings


def release_queue(settings: Settings, queue: str, publish: Publisher) -> list[int]:
    """Release ``queue`` and publish its waiting orders, most urgent first; returns the
    pks published. One the broker does not take stays queued for the reconciler.
    Raises :class:`~observatory.orders.hold.UnknownQueue`."""
    waiting = release(settings, queue)
    return [pk for pk in waiting if publish_order(settings, pk, publish).published]
