"""Hypothesis strategies for malformed work orders: valid examples with one thing broken.

Each malformed order comes with the name of the field an error message must mention, so
that a test can check the error names the problem rather than merely that it failed.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# One valid order per request, fields beyond the common four.
VALID_FIELDS: dict[str, dict[str, Any]] = {
    "dome_status": {},
    "dome_open": {},
    "dome_close": {},
    "dome_park": {},
    "dome_set_azimuth": {"azimuth_deg": 120.0},
    "dome_goto": {"altitude_deg": 45.0, "azimuth_deg": 200.0},
    "observation": {
        "ra": 83.8,
        "dec": -5.4,
        "target": "M42",
        "exposures": [{"filter": "R", "exposure_s": 30.0, "count": 2}],
    },
    "calibration_frames": {"bias_count": 5, "darks": [{"exposure_s": 30.0, "count": 3}]},
    "calibrate_file_batch": {"url": "/data/batches/20261123-observation-1"},
    "resume_file_batch": {"batch": "20261123-observation-1"},
    "restart_file_batch": {"batch": "20261123-observation-1"},
}

# Values of the wrong kind for any field: none of them is a valid value for the fields
# they replace below (numbers for text, text for numbers, containers for scalars).
NOT_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
NOT_NUMBER = st.one_of(
    st.none(),
    # JSON types are strict: a boolean is not a number, nor is a number written as text.
    st.booleans(),
    st.floats(min_value=0.0, max_value=80.0).map(str),
    st.integers(min_value=0, max_value=80).map(str),
    st.text(alphabet="abcxyz :/", min_size=1, max_size=12),
    st.lists(st.floats(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
NUMERIC_FIELDS = {"azimuth_deg", "altitude_deg", "ra", "dec", "bias_count"}
TEXT_FIELDS = {"user", "url", "batch", "target"}
REQUIRED_FIELDS: dict[str, set[str]] = {
    "dome_set_azimuth": {"azimuth_deg"},
    "dome_goto": {"altitude_deg", "azimuth_deg"},
    "calibrate_file_batch": {"url"},
    "resume_file_batch": {"batch"},
    "restart_file_batch": {"batch"},
}


@dataclass(frozen=True)
class Malformed:
    """An order that must be refused, and a word its error message must contain."""

    order: dict[str, Any]
    named: str


def valid_order(request: str) -> dict[str, Any]:
    return {
        "id": f"fuzz-{uuid.uuid4().hex[:12]}",
        "request": request,
        "datetime": "2026-11-23T21:00:00Z",
        "user": "fuzzer",
        **VALID_FIELDS[request],
    }


# Characters an id or user must not carry: controls (NUL first: PostgreSQL cannot store
# it), bidirectional format marks (text that reads otherwise than it is), line breaks
# (forged log lines).
UNPRINTABLE = st.sampled_from(
    ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u200e", "\u200f", "\u202e", "\u2028", "\ufeff"]
)


def _hostile(order: dict[str, Any], **fields: Any) -> Malformed:
    named = next(iter(fields))
    return Malformed({**order, **fields}, named)


def hostile_examples() -> list[Malformed]:
    """The hostile and sloppy orders an operator found stored and published over HTTP,
    each with the field its refusal must name."""
    dome = valid_order("dome_set_azimuth")
    observation = valid_order("observation")
    batch = valid_order("calibrate_file_batch")
    by_name = {k: v for k, v in observation.items() if k not in {"ra", "dec"}}
    return [
        _hostile(dome, azimuth=True),
        _hostile(dome, azimuth_deg="132.2"),
        _hostile(observation, ra="132.2"),
        _hostile(observation, dec=False),
        _hostile(dome, id="evil\x00\u202eorder"),
        _hostile(dome, id="\u200fright-to-left"),
        _hostile(dome, user="fuzzer\nforged log line"),
        _hostile(dome, user="x" * 129),
        _hostile(by_name, target="No Such Nebula 12345"),
        _hostile(batch, url="file:///etc/passwd"),
        _hostile(batch, url="/"),
        _hostile(batch, url="../../../../etc"),
        _hostile(batch, url="http://127.0.0.1:6399/"),
        _hostile(batch, url="http://169.254.169.254/latest/"),
    ]


@st.composite
def malformed_orders(draw: st.DrawFn) -> Malformed:
    request = draw(st.sampled_from(sorted(VALID_FIELDS)))
    order = valid_order(request)
    kind = draw(
        st.sampled_from(["missing", "wrong_type", "unknown_field", "out_of_range", "unprintable"])
    )
    if kind == "unprintable":
        field = draw(st.sampled_from(["id", "user"]))
        at = draw(st.integers(min_value=0, max_value=len(order[field])))
        order[field] = order[field][:at] + draw(UNPRINTABLE) + order[field][at:]
        return Malformed(order, field)
    if kind == "missing":
        field = draw(
            st.sampled_from(sorted({"datetime", "request"} | REQUIRED_FIELDS.get(request, set())))
        )
        del order[field]
        return Malformed(order, field)
    if kind == "wrong_type":
        fields = sorted(set(order) - {"id", "request", "exposures", "darks"})
        field = draw(st.sampled_from(fields))
        # None is a valid value of the optional fields, so it is not drawn for them.
        if field in NUMERIC_FIELDS:
            order[field] = draw(NOT_NUMBER.filter(lambda value: value is not None))
        elif field == "datetime":
            order[field] = draw(
                st.one_of(
                    st.none(),
                    st.text(alphabet="xyz", max_size=5),
                    st.lists(st.integers(), max_size=1),
                )
            )
        else:
            order[field] = draw(NOT_TEXT.filter(lambda value: value is not None))
        return Malformed(order, field)
    if kind == "unknown_field":
        field = draw(st.from_regex(r"\A[a-z]{3,10}_x\Z"))
        order[field] = draw(st.one_of(st.integers(), st.text(max_size=5)))
        return Malformed(order, field)
    # out_of_range: a number past its limits where the request has one.
    limits = {
        "azimuth_deg": (360.0, 1e9),
        "altitude_deg": (90.0001, 1e6),
        "ra": (360.0, 1e6),
        "dec": (90.0001, 1e6),
    }
    candidates = sorted(set(order) & set(limits))
    if not candidates:
        order["priority"] = draw(st.floats(min_value=10.0001, max_value=1e9))
        return Malformed(order, "priority")
    field = draw(st.sampled_from(candidates))
    low, high = limits[field]
    magnitude = draw(st.floats(min_value=low, max_value=high))
    order[field] = (
        magnitude if draw(st.booleans()) or field in {"ra", "azimuth_deg"} else -magnitude
    )
    return Malformed(order, field)
