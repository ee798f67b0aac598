"""Alpaca request parsing and reply envelopes, independent of any web framework.

Rules (ASCOM Alpaca, as ConformU checks them):

* paths are ``/api/v1/{device_type}/{device_number}/{member}``, every element lower case;
* GET parameters come from the query string and their names are case-insensitive;
* PUT parameters come from the url-encoded form; required names are case-sensitive, and a
  mis-cased ``ClientID``/``ClientTransactionID`` is ignored;
* ``ClientID``/``ClientTransactionID`` are uint32: empty, negative, non-numeric -> 400;
* booleans are ``true``/``false`` in any case, numbers use ``.`` as decimal point.

Every failure here raises :class:`~observatory.simulator.errors.BadRequest` (HTTP 400).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from observatory.simulator.errors import AscomError, BadRequest
from observatory.simulator.members import Member, Param

UINT32_MAX = 2**32 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_PATH_RE = re.compile(r"/api/v1/([^/]+)/([^/]+)/([^/]+)")
IMAGEBYTES_MEDIA_TYPE = "application/imagebytes"


@dataclass(frozen=True)
class DevicePath:
    device_type: str
    device_number: int
    member: str


def parse_device_path(path: str) -> DevicePath:
    """Split an ``/api/v1/...`` path; raises BadRequest unless its shape and case are right.

    Whether the type, number and member exist is checked by the caller.
    """
    match = _PATH_RE.fullmatch(path)
    if match is None:
        raise BadRequest(f"not an Alpaca device path: {path!r}")
    device_type, number_text, member = match.groups()
    if device_type != device_type.lower() or member != member.lower():
        raise BadRequest(f"device type and member must be lower case: {path!r}")
    if not number_text.isascii() or not number_text.isdigit():
        raise BadRequest(f"device number must be a non-negative integer: {number_text!r}")
    number = int(number_text)
    if number > UINT32_MAX:
        raise BadRequest(f"device number out of range: {number_text!r}")
    return DevicePath(device_type, number, member)


def parse_uint32(text: str, name: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise BadRequest(f"{name} must be an unsigned 32-bit integer, got {text!r}")
    value = int(text)
    if value > UINT32_MAX:
        raise BadRequest(f"{name} is out of the uint32 range: {text!r}")
    return value


def parse_value(text: str, param: Param) -> Any:
    """``text`` converted to the parameter's kind; BadRequest when it does not parse."""
    kind = param.kind
    if kind == "str":
        return text
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    elif kind == "int":
        if _INT_RE.fullmatch(text.strip()):
            value = int(text)
            if INT32_MIN <= value <= INT32_MAX:
                return value
    elif kind == "float":
        if _FLOAT_RE.fullmatch(text.strip()):
            return float(text)
    elif kind == "datetime":
        return _parse_datetime(text, param)
    raise BadRequest(f"{param.field}={text!r} is not a valid {kind}")


def _parse_datetime(text: str, param: Param) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise BadRequest(f"{param.field}={text!r} is not an ISO 8601 date-time") from error
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class ParsedCall:
    """A validated request: transaction ids and the handler's keyword arguments."""

    client_id: int = 0
    client_transaction_id: int = 0
    arguments: dict[str, Any] = field(default_factory=dict)


def parse_get(member: Member, query: Iterable[tuple[str, str]]) -> ParsedCall:
    """Validate a GET's query parameters (names case-insensitive; first occurrence wins)."""
    values: dict[str, str] = {}
    for name, value in query:
        values.setdefault(name.lower(), value)
    call = _transaction_ids(values.get("clientid"), values.get("clienttransactionid"))
    for param in member.params:
        text = values.get(param.field.lower())
        _bind(call, param, text)
    return call


def parse_put(member: Member, body: bytes) -> ParsedCall:
    """Validate a PUT's url-encoded form (required names case-sensitive)."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as error:
        raise BadRequest("the form body is not UTF-8") from error
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    call = _transaction_ids(values.get("ClientID"), values.get("ClientTransactionID"))
    lowered = {name.lower() for name in values}
    for param in member.params:
        text = values.get(param.field)
        if text is None and param.field.lower() in lowered:
            raise BadRequest(f"form field names are case-sensitive: expected {param.field}")
        _bind(call, param, text)
    return call


def _transaction_ids(client_id: str | None, transaction_id: str | None) -> ParsedCall:
    call = ParsedCall()
    if client_id is not None:
        call.client_id = parse_uint32(client_id, "ClientID")
    if transaction_id is not None:
        call.client_transaction_id = parse_uint32(transaction_id, "ClientTransactionID")
    return call


def _bind(call: ParsedCall, param: Param, text: str | None) -> None:
    if text is None:
        if param.required:
            raise BadRequest(f"missing required parameter {param.field}")
        if param.default is not None:
            call.arguments[param.argument] = param.default
        return
    call.arguments[param.argument] = parse_value(text, param)


class TransactionCounter:
    """Thread-safe ServerTransactionID source: 1, 2, 3, ... wrapping to 1 after uint32 max
    (ids are uint32 and 0 is reserved). ``last`` is the id before the first one given."""

    def __init__(self, last: int = 0) -> None:
        if not 0 <= last <= UINT32_MAX:
            raise ValueError(f"a transaction id is 0..{UINT32_MAX}, got {last}")
        self._lock = threading.Lock()
        self._last = last

    def next(self) -> int:
        with self._lock:
            self._last = self._last + 1 if self._last < UINT32_MAX else 1
            return self._last


# Replies a handler may return instead of a plain value.


@dataclass(frozen=True)
class RawBody:
    """A reply body sent as is (e.g. ImageBytes), bypassing the JSON envelope."""

    body: bytes
    media_type: str = IMAGEBYTES_MEDIA_TYPE


@dataclass(frozen=True)
class ValueWithFields:
    """A JSON value plus extra top-level envelope keys (``Type`` and ``Rank`` of images).

    ``value_json`` may carry the value already serialised (bytes of JSON), which avoids
    a second pass over a large array.
    """

    value: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    value_json: bytes | None = None


@dataclass(frozen=True)
class RequestContext:
    """What a handler may need to know about the request it answers."""

    client_id: int
    client_transaction_id: int
    server_transaction_id: int
    accepts_imagebytes: bool


def accepts_imagebytes(accept_header: str | None) -> bool:
    """True if an ``Accept`` header lists ``application/imagebytes``."""
    if not accept_header:
        return False
    return any(
        part.split(";")[0].strip().lower() == IMAGEBYTES_MEDIA_TYPE
        for part in accept_header.split(",")
    )


def envelope(
    *,
    client_transaction_id: int,
    server_transaction_id: int,
    value: Any = None,
    has_value: bool,
    error: AscomError | None = None,
) -> bytes:
    """The JSON reply: exactly Value (when ``has_value``), the two ids, ErrorNumber/Message.

    ``value`` may be a :class:`ValueWithFields` to add keys or splice pre-encoded JSON.
    The added keys (an image's ``Type`` and ``Rank``) come before ``Value``: a client that
    streams a large array needs them before its first element.
    """
    extra: dict[str, Any] = {}
    value_json: bytes | None = None
    if isinstance(value, ValueWithFields):
        extra = value.fields
        value_json = value.value_json
        value = value.value
    tail = {
        "ClientTransactionID": client_transaction_id,
        "ServerTransactionID": server_transaction_id,
        "ErrorNumber": error.error_number if error else 0,
        "ErrorMessage": error.message if error else "",
    }
    if not has_value:
        return orjson.dumps({**extra, **tail})
    if value_json is None:
        body = {**extra, "Value": value, **tail}
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    # Splice the pre-encoded value between the leading keys and the rest of the object.
    head = orjson.dumps(extra)[:-1] + (b"," if extra else b"")
    return head + b'"Value":' + value_json + b"," + orjson.dumps(tail)[1:]
