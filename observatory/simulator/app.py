"""The HTTP boundary: Starlette routes for the Alpaca device, management and setup APIs.

Parsing lives in :mod:`protocol`, behaviour in the devices; here an ``AscomError`` becomes
a 200 reply with ErrorNumber and a ``BadRequest`` becomes a plain-text HTTP 400. Any other
exception is a simulator bug and surfaces as HTTP 500.
"""

from __future__ import annotations

import asyncio
import html
import inspect
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from observatory import __version__
from observatory.simulator.errors import AscomError, BadRequest
from observatory.simulator.members import DEVICE_TYPE_NAMES, Member, member_for
from observatory.simulator.observatory import Observatory
from observatory.simulator.protocol import (
    ParsedCall,
    RawBody,
    RequestContext,
    TransactionCounter,
    ValueWithFields,
    accepts_imagebytes,
    envelope,
    parse_device_path,
    parse_get,
    parse_put,
)

JSON = "application/json"


def create_app(observatory: Observatory) -> Starlette:
    """The ASGI application serving ``observatory``."""
    counter = TransactionCounter()

    async def device_api(request: Request) -> Response:
        try:
            device, member, call = await _resolve(observatory, request)
        except BadRequest as error:
            return PlainTextResponse(str(error), status_code=400)
        context = RequestContext(
            client_id=call.client_id,
            client_transaction_id=call.client_transaction_id,
            server_transaction_id=counter.next(),
            accepts_imagebytes=accepts_imagebytes(request.headers.get("accept")),
        )
        delay_s = device.reply_delay_s(member)
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        return await _answer(device, member, call, context)

    async def api_versions(request: Request) -> Response:
        return _management_reply(request, counter, [1])

    async def description(request: Request) -> Response:
        config = observatory.config
        value = {
            "ServerName": config.server_name,
            "Manufacturer": config.manufacturer,
            "ManufacturerVersion": __version__,
            "Location": config.location,
        }
        return _management_reply(request, counter, value)

    async def configured_devices(request: Request) -> Response:
        return _management_reply(request, counter, observatory.configured_devices())

    async def setup_page(request: Request) -> Response:
        return HTMLResponse(_setup_html(observatory))

    async def device_setup_page(request: Request) -> Response:
        device_type = request.path_params["device_type"]
        number_text = request.path_params["device_number"]
        device = (
            observatory.device(device_type, int(number_text)) if number_text.isdigit() else None
        )
        if device is None:
            return PlainTextResponse(f"no device {device_type}/{number_text}", status_code=400)
        return HTMLResponse(_device_setup_html(observatory, device))

    routes = [
        Route("/api/v1/{rest:path}", device_api, methods=["GET", "PUT"]),
        Route("/management/apiversions", api_versions, methods=["GET"]),
        Route("/management/v1/description", description, methods=["GET"]),
        Route("/management/v1/configureddevices", configured_devices, methods=["GET"]),
        Route("/setup", setup_page, methods=["GET"]),
        Route("/setup/v1/{device_type}/{device_number}/setup", device_setup_page, methods=["GET"]),
    ]
    return Starlette(routes=routes)


async def _resolve(observatory: Observatory, request: Request) -> tuple[Any, Member, ParsedCall]:
    path = parse_device_path(request.url.path)
    device = observatory.device(path.device_type, path.device_number)
    if device is None:
        raise BadRequest(f"no device {path.device_type}/{path.device_number} on this server")
    member = member_for(path.device_type, request.method, path.member)
    if member is None:
        raise BadRequest(f"{request.method} {path.member} is not a {path.device_type} member")
    if request.method == "GET":
        return device, member, parse_get(member, request.query_params.multi_items())
    return device, member, parse_put(member, await request.body())


async def _answer(
    device: Any, member: Member, call: ParsedCall, context: RequestContext
) -> Response:
    has_value = member.verb == "GET"
    try:
        result = device.call(member, call.arguments, context)
        if inspect.isawaitable(result):
            result = await result
    except AscomError as error:
        value = member.error_value
        if member.error_fields:
            value = ValueWithFields(value, member.error_fields)
        body = envelope(
            client_transaction_id=call.client_transaction_id,
            server_transaction_id=context.server_transaction_id,
            value=value,
            has_value=has_value,
            error=error,
        )
        return Response(body, media_type=JSON)
    if isinstance(result, RawBody):
        if not context.accepts_imagebytes:
            raise RuntimeError(f"{member.name} returned a raw body to a JSON request")
        return Response(result.body, media_type=result.media_type)
    body = envelope(
        client_transaction_id=call.client_transaction_id,
        server_transaction_id=context.server_transaction_id,
        value=result,
        has_value=has_value or result is not None,
    )
    return Response(body, media_type=JSON)


def _management_reply(request: Request, counter: TransactionCounter, value: Any) -> Response:
    try:
        ids = parse_get(_NO_PARAMS, request.query_params.multi_items())
    except BadRequest as error:
        return PlainTextResponse(str(error), status_code=400)
    body = {
        "Value": value,
        "ClientTransactionID": ids.client_transaction_id,
        "ServerTransactionID": counter.next(),
        "ErrorNumber": 0,
        "ErrorMessage": "",
    }
    return Response(orjson.dumps(body), media_type=JSON)


_NO_PARAMS = Member("GET", "management", (), None)


def _setup_html(observatory: Observatory) -> str:
    config = observatory.config
    rows = "".join(
        f'<li><a href="/setup/v1/{d.device_type}/{d.number}/setup">'
        f"{html.escape(DEVICE_TYPE_NAMES[d.device_type])} {d.number}: "
        f"{html.escape(d.display_name)}</a></li>"
        for _, d in sorted(observatory.devices.items())
    )
    return (
        f"<!DOCTYPE html><html><head><title>{html.escape(config.server_name)}</title></head>"
        f"<body><h1>{html.escape(config.server_name)}</h1>"
        f"<p>{html.escape(config.manufacturer)}, version {html.escape(__version__)}; "
        f"location {html.escape(config.location)}; time scale {config.time_scale:g}.</p>"
        f"<p>Settings come from the simulator's TOML file; restart to change them.</p>"
        f"<ul>{rows}</ul></body></html>"
    )


def _device_setup_html(observatory: Observatory, device: Any) -> str:
    name = html.escape(device.display_name)
    settings = html.escape(device.settings.model_dump_json(indent=2))
    return (
        f"<!DOCTYPE html><html><head><title>{name}</title></head><body><h1>{name}</h1>"
        f"<p>UniqueID {html.escape(observatory.unique_id(device))}. This device is configured "
        f"from the simulator's TOML file and has no settings to change here.</p>"
        f"<pre>{settings}</pre></body></html>"
    )
