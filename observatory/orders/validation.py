"""Turning untrusted JSON into a validated work order, with errors that name the field."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from observatory.errors import WorkOrderInvalid
from observatory.orders.models import TEXT_MAX_LENGTH, WORK_ORDER_ADAPTER, WorkOrder, unprintable
from observatory.orders.routes import ROUTES

# The largest work order taken, in bytes of JSON (HTTP body, CLI file or standard input).
# The largest real one is an observation with a few hundred exposure specs: far below.
MAX_ORDER_BYTES = 64 * 1024

# Errors about the kind of a value, to which the kind given is added.
_TYPE_ERRORS = {"float_type", "int_type", "string_type", "bool_type", "list_type", "model_type"}


def _json_kind(value: object) -> str:
    """The JSON name of a decoded value's kind."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "an array" if isinstance(value, list) else "an object"


def _printable_part(part: str | int) -> str:
    # A field name given by the submitter may carry control characters (a NUL, a newline
    # that would forge a log line): those are shown escaped.
    text = str(part)
    return repr(text) if unprintable(text) else text


def _text_length_message(kind: str, ctx: dict[str, Any]) -> str:
    # pydantic counts "items" for an annotated str; a submitter counts characters.
    length = ctx.get("actual_length")
    if kind == "too_long":
        return f"should have at most {ctx.get('max_length')} characters, not {length}"
    if ctx.get("min_length") == 1:
        return "should not be blank"
    return f"should have at least {ctx.get('min_length')} characters, not {length}"


def describe_errors(error: ValidationError, request: object = None) -> str:
    """One problem per clause, ``field.path: message``, without the request-type prefix."""
    lines = []
    for item in error.errors(include_url=False):
        loc = list(item["loc"])
        if loc and loc[0] == request:
            loc = loc[1:]
        if item["type"] == "union_tag_invalid":
            loc, message = (
                ["request"],
                f"unknown request {request!r}; expected one of " + (", ".join(ROUTES)),
            )
        elif item["type"] in ("too_long", "too_short") and isinstance(item["input"], str):
            message = _text_length_message(item["type"], item.get("ctx", {}))
        else:
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] in _TYPE_ERRORS:
                message += f", not {_json_kind(item['input'])}"
        location = ".".join(_printable_part(part) for part in loc) or "(order)"
        lines.append(f"{location}: {message}")
    return "; ".join(lines)


def parse_order(data: Any) -> WorkOrder:
    """Validate a decoded JSON object as a work order.

    Raises WorkOrderInvalid whose message names every offending field.
    """
    if not isinstance(data, dict):
        raise WorkOrderInvalid(f"a work order is a JSON object, not {type(data).__name__}")
    if "request" not in data:
        raise WorkOrderInvalid("request: field required")
    if "resolved" in data:
        raise WorkOrderInvalid("resolved: set by the observatory on receipt; give target instead")
    try:
        return WORK_ORDER_ADAPTER.validate_python(data)
    except ValidationError as error:
        raise WorkOrderInvalid(describe_errors(error, data["request"])) from None


def parse_order_json(text: str | bytes) -> WorkOrder:
    """Validate JSON text as a work order (see :func:`parse_order`)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise WorkOrderInvalid(f"not valid JSON: {error}") from None
    return parse_order(data)


def known_identity(data: Any) -> tuple[str, str] | None:
    """The (id, user) of a possibly invalid order, when both are text that a valid order
    could carry (printable, within the length limit)."""
    if not isinstance(data, dict):
        return None
    order_id, user = data.get("id"), data.get("user")
    if isinstance(order_id, int) and not isinstance(order_id, bool):
        order_id = str(order_id)
    if not (isinstance(order_id, str) and isinstance(user, str)):
        return None
    if unprintable(order_id) or unprintable(user):
        return None
    order_id, user = order_id.strip(), user.strip()
    if 0 < len(order_id) <= TEXT_MAX_LENGTH and 0 < len(user) <= TEXT_MAX_LENGTH:
        return order_id, user
    return None
