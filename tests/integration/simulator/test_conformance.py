"""Every endpoint of the seven served types in the official spec answers a valid reply.

Walks each path of ``AlpacaDeviceAPI_v1.yaml`` for camera, covercalibrator, dome,
filterwheel, focuser, safetymonitor and telescope (the common ``{device_type}`` paths once per
type), calls it with parameters built from the spec, and validates the reply against the
spec's response schema. A member a device does not simulate answers 0x400, which the spec
allows as an error reply. The same for ``AlpacaManagementAPI_v1.yaml``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from observatory.simulator.server import start_simulator_process
from tests.integration.simulator.conftest import DEVICE_TYPES, TIME_SCALE, Api

pytestmark = pytest.mark.integration

SPEC_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "alpaca"
DEVICE_SPEC = SPEC_DIR / "AlpacaDeviceAPI_v1.yaml"
MANAGEMENT_SPEC = SPEC_DIR / "AlpacaManagementAPI_v1.yaml"

# Valid form values by field name, so that PUTs mostly succeed rather than being refused.
FORM_VALUES: dict[str, str] = {
    "Action": "simulator:state",
    "Parameters": "",
    "Command": "x",
    "Raw": "false",
    "Connected": "true",
    "Azimuth": "90",
    "Altitude": "45",
    "Slaved": "false",
    "Position": "1",
    "Brightness": "10",
    "BinX": "1",
    "BinY": "1",
    "NumX": "64",
    "NumY": "64",
    "StartX": "0",
    "StartY": "0",
    "Duration": "1",
    "Light": "true",
    "Direction": "0",
    "SetCCDTemperature": "-10",
    "CoolerOn": "true",
    "FastReadout": "false",
    "Gain": "0",
    "Offset": "0",
    "ReadoutMode": "0",
    "SubExposureDuration": "1",
    "RightAscension": "12",
    "Declination": "10",
    "TargetRightAscension": "12",
    "TargetDeclination": "10",
    "UTCDate": "2025-01-15T21:00:00Z",
    "SiteLatitude": "37.2",
    "SiteLongitude": "-2.5",
    "SiteElevation": "2168",
    "Tracking": "true",
    "TrackingRate": "0",
    "SideOfPier": "0",
    "Axis": "0",
    "Rate": "0",
    "GuideRateDeclination": "0.004",
    "GuideRateRightAscension": "0.004",
    "SlewSettleTime": "0",
    "DoesRefraction": "false",
    "DeclinationRate": "0",
    "RightAscensionRate": "0",
}
# Run last: they end the connection the rest of the walk needs.
LAST_MEMBERS = ("disconnect",)


@pytest.fixture(scope="module")
def own_api() -> Iterator[Api]:
    """A simulator of its own: the walk changes settings (SetPark, ...) other tests rely on."""
    with start_simulator_process(time_scale=TIME_SCALE, discovery_port=0) as simulator:
        client = Api(simulator)
        for device_type in DEVICE_TYPES:
            client.ok(f"{device_type}/0/connected", Connected="true")
        yield client
        client.session.close()


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        pytest.skip(f"the Alpaca spec {path} is absent (kept outside the repository)")
    with path.open() as stream:
        return dict(yaml.safe_load(stream))


def validator(schema: Any) -> jsonschema.Draft202012Validator:
    """A validator for an OpenAPI 3.1 schema. The spec's YAML reads some ``title: Off``
    as the boolean false, so the schema itself is not meta-validated."""
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def inline_refs(node: Any, document: dict[str, Any]) -> Any:
    """``node`` with every local ``$ref`` replaced by the referenced object (no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return inline_refs(target, document)
        return {key: inline_refs(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [inline_refs(item, document) for item in node]
    return node


def relax_state_value(schema: Any) -> Any:
    """The spec's DeviceState item Value is ``oneOf`` [string, ..., date-time string]: any
    ISO time (the TimeStamp entry) matches two branches, so ``oneOf`` can never hold for
    it. Validate that one node as ``anyOf``; everything else stays as written."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            branches = node.get("oneOf")
            if isinstance(branches, list) and any(
                b.get("format") == "date-time" for b in branches if isinstance(b, dict)
            ):
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return schema


def example_value(name: str, schema: dict[str, Any]) -> str:
    if name in FORM_VALUES:
        return FORM_VALUES[name]
    if "oneOf" in schema:
        return str(schema["oneOf"][0]["const"])
    kind = schema.get("type")
    if kind == "boolean":
        return "false"
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return str((low + high) / 2 if kind == "number" else (low + high) // 2)
        return str(low if low is not None else 0)
    raise AssertionError(f"no example for {name}: {schema}")


def form_properties(schema: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for part in schema.get("allOf", [schema]):
        properties.update(part.get("properties", {}))
    return properties


class Endpoint:
    def __init__(self, device_type: str, member: str, verb: str, operation: dict[str, Any]):
        self.device_type, self.member, self.verb, self.operation = (
            device_type,
            member,
            verb,
            operation,
        )

    @property
    def id(self) -> str:
        return f"{self.verb.upper()} {self.device_type}/{self.member}"

    def reply_schema(self) -> Any:
        return self.operation["responses"]["200"]["content"]["application/json"]["schema"]

    def arguments(self) -> dict[str, str]:
        if self.verb == "get":
            return {
                p["name"]: example_value(p["name"], p["schema"])
                for p in self.operation.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            }
        body = self.operation.get("requestBody")
        if body is None:
            return {}
        schema = body["content"]["application/x-www-form-urlencoded"]["schema"]
        return {
            name: example_value(name, prop)
            for name, prop in form_properties(schema).items()
            if name not in ("ClientID", "ClientTransactionID")
        }


def device_endpoints(document: dict[str, Any]) -> Iterator[Endpoint]:
    for path, operations in document["paths"].items():
        _, path_type, _, member = path.split("/")
        types = DEVICE_TYPES if path_type == "{device_type}" else (path_type,)
        for device_type in types:
            if device_type not in DEVICE_TYPES:
                continue
            for verb, operation in operations.items():
                if verb in ("get", "put"):
                    yield Endpoint(device_type, member, verb, inline_refs(operation, document))


def walk_order(endpoint: Endpoint) -> tuple[int, int, str]:
    return (endpoint.verb == "put", endpoint.member in LAST_MEMBERS, endpoint.id)


def check_envelope(endpoint: Endpoint, reply: dict[str, Any], transaction_id: int) -> None:
    expected = {"ClientTransactionID", "ServerTransactionID", "ErrorNumber", "ErrorMessage"}
    if endpoint.verb == "get":
        expected.add("Value")
    assert expected <= set(reply), f"{endpoint.id}: keys {sorted(reply)}"
    extra = set(reply) - expected - {"Value", "Type", "Rank"}
    assert not extra, f"{endpoint.id}: unexpected keys {extra}"
    assert reply["ClientTransactionID"] == transaction_id
    assert reply["ServerTransactionID"] >= 1
    error = reply["ErrorNumber"]
    assert error == 0 or 0x400 <= error <= 0xFFF, f"{endpoint.id}: ErrorNumber {error}"
    assert bool(reply["ErrorMessage"]) == (error != 0), f"{endpoint.id}: {reply}"


def test_every_device_endpoint_answers_a_spec_valid_reply(own_api: Api) -> None:
    api = own_api
    document = _load(DEVICE_SPEC)
    endpoints = sorted(device_endpoints(document), key=walk_order)
    assert len(endpoints) > 250
    failures: list[str] = []
    outcomes: dict[str, int] = {}
    for number, endpoint in enumerate(endpoints, start=1):
        arguments = {**endpoint.arguments(), "ClientID": "7", "ClientTransactionID": str(number)}
        path = f"{endpoint.device_type}/0/{endpoint.member}"
        if endpoint.verb == "get":
            response = api.session.get(api.url(path), params=arguments, timeout=10)
        else:
            response = api.session.put(api.url(path), data=arguments, timeout=10)
        if response.status_code != 200:
            failures.append(f"{endpoint.id}: HTTP {response.status_code} {response.text}")
            continue
        reply = response.json()
        check_envelope(endpoint, reply, number)
        for error in validator(relax_state_value(endpoint.reply_schema())).iter_errors(reply):
            failures.append(f"{endpoint.id}: {error.message} in {reply}")
        outcomes[endpoint.id] = reply["ErrorNumber"]
    assert not failures, "\n".join(failures)
    # The mechanisms simulated here answer their own members without errors.
    for member in ("azimuth", "shutterstatus", "slewing", "athome", "atpark", "devicestate"):
        assert outcomes[f"GET dome/{member}"] == 0
    for key in (
        "GET filterwheel/names",
        "GET covercalibrator/coverstate",
        "GET safetymonitor/issafe",
        "PUT dome/slewtoazimuth",
        "PUT covercalibrator/calibratoron",
        "PUT dome/action",
    ):
        assert outcomes[key] == 0, key


def test_every_management_endpoint_answers_a_spec_valid_reply(own_api: Api) -> None:
    api = own_api
    document = _load(MANAGEMENT_SPEC)
    base_url = api.base_url
    for path, operations in document["paths"].items():
        operation = inline_refs(operations["get"], document)
        url = base_url + path.replace("{device_type}", "dome").replace("{device_number}", "0")
        response = requests.get(url, params={"ClientTransactionID": "3"}, timeout=10)
        assert response.status_code == 200, path
        content = operation["responses"]["200"]["content"]
        if "application/json" in content:
            reply = response.json()
            errors = list(validator(content["application/json"]["schema"]).iter_errors(reply))
            assert not errors, f"{path}: {[e.message for e in errors]}"
            assert reply["ClientTransactionID"] == 3 and reply["ServerTransactionID"] >= 1
        else:
            assert response.headers["content-type"].startswith("text/html"), path
