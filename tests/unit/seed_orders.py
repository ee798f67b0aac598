"""The two example work orders of the original design notes (seed/), exactly as written
there but made JSON (``None`` -> ``null``, ``=`` -> ``:``, the url quoted, ``...``
dropped): both ``"id": "1"`` from ``"Main Module"``, one to the processor and one to the
telescope."""

from __future__ import annotations

from typing import Any

CALIBRATE_TEXT = """{
    "id": "1",
    "request": "calibrate_file_batch",
    "url": "https://myaddres.org/get?allfiles",
    "datetime": "2019-03-05T14:34:54.234",
    "user": "Main Module"
}"""

OBSERVATION_TEXT = """{
    "id": "1",
    "request": "observation",
    "priority": null,
    "datetime": "2019-03-05T14:34:54.234",
    "ra": 132.23356,
    "dec": 34.254534,
    "user": "Main Module"
}"""


def calibrate() -> dict[str, Any]:
    import json

    return dict(json.loads(CALIBRATE_TEXT))


def observation() -> dict[str, Any]:
    import json

    return dict(json.loads(OBSERVATION_TEXT))
