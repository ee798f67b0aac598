"""The simulated device base: common ASCOM members and how a device declares its own.

How to add a device type (the Dome in :mod:`observatory.simulator.devices.dome` is the
worked example):

1. Subclass :class:`Device` in ``devices/<type>.py`` and set ``device_type`` (the lower
   case Alpaca type, e.g. ``"dome"``), ``default_name`` and ``default_description``. The
   interface version comes from :data:`observatory.simulator.members.INTERFACE_VERSIONS`.
2. Declare the settings of its config section as a pydantic model subclassing
   :class:`DeviceSettings` (units in the names: ``azimuth_rate_deg_s``) and point
   ``settings_model`` at it. ``self.settings`` is the validated instance.
3. Write one method per ASCOM member you simulate and mark it ``@get("azimuth")`` or
   ``@put("slewtoazimuth")``. A PUT handler receives the form fields as keyword arguments
   already parsed and typed, named in snake case (``Azimuth`` -> ``azimuth``,
   ``SetCCDTemperature`` -> ``set_ccd_temperature``; see ``member_table.py``). A GET
   returns the plain Python value (bool, int, float, str, list, dict). Misspelled member
   names or argument names fail at class creation. Every member of the type you do not
   handle answers 0x400 NotImplemented by itself, and everything except the
   disconnected-safe members answers 0x407 while disconnected: do not check it yourself.
4. Raise the typed errors of :mod:`observatory.simulator.errors` (``InvalidValue``,
   ``InvalidWhileParked``, ...) for refusals; never return a placeholder value.
5. Motion uses ``self.clock`` (simulated seconds, see ``clock.py``) and is evaluated
   lazily (``motion.Travel``): a PUT records where and when a motion started and returns
   at once; GETs compute the present state from the clock. Handlers run on the server's
   event loop, one at a time, so they need no locks but must be quick. A handler that has
   heavy work (rendering an image) may be ``async def`` and await
   ``anyio.to_thread.run_sync``.
6. List the DeviceState members in ``device_state_members`` as
   ``(("Azimuth", "azimuth"), ...)`` (ASCOM name, GET member), and return the true
   internal state from :meth:`Device.ground_truth` (the ``simulator:state`` Action).
7. Extra Actions: ``@action("simulator:set_safe")`` on a method taking the parameter
   string and returning a string. Device-specific faults: override
   :meth:`Device.apply_fault`.
8. Register the class in ``DEVICE_CLASSES`` in ``devices/__init__.py`` and add a section
   to ``config/simulator.toml``.

Handlers that need the request (the camera's ImageBytes reply) pass ``context=True`` to
the decorator and take a ``context: RequestContext`` keyword; they may return a
:class:`~observatory.simulator.protocol.RawBody` (sent as is, used only when
``context.accepts_imagebytes``) or a
:class:`~observatory.simulator.protocol.ValueWithFields` (extra envelope keys, optional
pre-encoded JSON value). Other devices are reached through ``self.observatory``
(``self.observatory.filterwheel.current_filter_name``, ...).
"""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from observatory import __version__
from observatory.simulator.clock import Clock
from observatory.simulator.errors import (
    ActionNotImplemented,
    AscomError,
    InvalidValue,
    NotConnected,
    NotImplementedAscom,
)
from observatory.simulator.faults import GENERIC_KINDS, FaultSet, fault_kind
from observatory.simulator.members import (
    DEVICE_TYPE_NAMES,
    INTERFACE_VERSIONS,
    MEMBERS,
    Member,
    works_disconnected,
)
from observatory.simulator.protocol import RequestContext

if TYPE_CHECKING:
    from observatory.simulator.observatory import Observatory

F = TypeVar("F", bound=Callable[..., Any])


class DeviceSettings(BaseModel):
    """Settings every device section accepts; device types extend this model."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    # A fixed UUID; by default one is derived from the server name, type and number.
    unique_id: str | None = None
    # Simulated seconds that Connect() takes (Connecting is true meanwhile).
    connect_delay_s: float = Field(default=1.5, ge=0)
    faults: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(frozen=True)
class Handler:
    """Which method answers ``verb member``; looked up by name so overrides apply."""

    verb: str
    member: str
    method_name: str
    wants_context: bool


def _mark(verb: str, member: str, context: bool) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        marks = getattr(function, "_ascom_members", [])
        function._ascom_members = [*marks, (verb, member, context)]  # type: ignore[attr-defined]
        return function

    return decorate


def get(member: str, *, context: bool = False) -> Callable[[F], F]:
    """Mark a method as the handler of ``GET .../{member}``."""
    return _mark("GET", member, context)


def put(member: str, *, context: bool = False) -> Callable[[F], F]:
    """Mark a method as the handler of ``PUT .../{member}`` (form fields as keywords)."""
    return _mark("PUT", member, context)


def action(name: str) -> Callable[[F], F]:
    """Mark a method ``(self, parameters: str) -> str`` as the Action ``name``."""

    def decorate(function: F) -> F:
        function._ascom_action = name  # type: ignore[attr-defined]
        return function

    return decorate


class Device:
    """One simulated Alpaca device: common members, dispatch, connection and faults."""

    device_type: ClassVar[str] = ""
    default_name: ClassVar[str] = "Simulated device"
    default_description: ClassVar[str] = "Alpaca device simulator"
    settings_model: ClassVar[type[DeviceSettings]] = DeviceSettings
    device_state_members: ClassVar[tuple[tuple[str, str], ...]] = ()
    # GET members of this type that the interface requires to answer while disconnected
    # (e.g. SafetyMonitor.IsSafe, which then reads False); their handlers check themselves.
    answers_disconnected: ClassVar[frozenset[str]] = frozenset()
    _handlers: ClassVar[dict[tuple[str, str], Handler]] = {}
    _actions: ClassVar[dict[str, str]] = {}  # lower-case action name -> method name

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[tuple[str, str], Handler] = {}
        actions: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for name, attribute in vars(klass).items():
                for verb, member, context in getattr(attribute, "_ascom_members", []):
                    handlers[(verb, member)] = Handler(verb, member, name, context)
                if hasattr(attribute, "_ascom_action"):
                    actions[attribute._ascom_action.lower()] = name
        cls._handlers = handlers
        cls._actions = actions
        if cls.device_type:
            cls._check_handlers()

    @classmethod
    def _check_handlers(cls) -> None:
        if cls.device_type not in MEMBERS:
            raise TypeError(f"{cls.__name__}: unknown device type {cls.device_type!r}")
        table = MEMBERS[cls.device_type]
        for key, handler in cls._handlers.items():
            member = table.get(key)
            if member is None:
                raise TypeError(f"{cls.__name__}: {key[0]} {key[1]} is not a member")
            names = {p.argument for p in member.params} | (
                {"context"} if handler.wants_context else set()
            )
            function = getattr(cls, handler.method_name)
            parameters = list(inspect.signature(function).parameters)[1:]
            if set(parameters) != names:
                raise TypeError(
                    f"{cls.__name__}.{handler.method_name} takes {parameters}, "
                    f"but {key[0]} {key[1]} passes {sorted(names)}"
                )

    def __init__(
        self,
        number: int,
        settings: DeviceSettings,
        clock: Clock,
        rng: random.Random,
        observatory: Observatory | None = None,
    ) -> None:
        """``settings`` must be an instance of the class's ``settings_model``."""
        self.number = number
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self._observatory = observatory
        self.faults = FaultSet()
        self._connected = False
        self._connect_done_s: float | None = None

    @classmethod
    def build(
        cls,
        number: int,
        settings: DeviceSettings,
        clock: Clock,
        rng: random.Random,
        observatory: Observatory | None = None,
    ) -> Device:
        """Construct the device and apply the faults its settings list."""
        device = cls(number, settings, clock, rng, observatory)
        for spec in settings.faults:
            device.apply_fault(spec)
        return device

    @property
    def observatory(self) -> Observatory:
        if self._observatory is None:
            raise RuntimeError(f"{self.display_name} is not part of an observatory")
        return self._observatory

    @property
    def interface_version(self) -> int:
        return INTERFACE_VERSIONS[self.device_type]

    @property
    def display_name(self) -> str:
        return self.settings.name or self.default_name

    # -- dispatch ---------------------------------------------------------------------

    def call(self, member: Member, arguments: dict[str, Any], context: RequestContext) -> Any:
        """Run ``member`` with parsed ``arguments``; raises an AscomError on refusal.

        May return an awaitable when the handler is ``async``.
        """
        exempt = works_disconnected(member) or (
            member.verb == "GET" and member.name in self.answers_disconnected
        )
        if not exempt and not self.connected:
            raise NotConnected(f"{self.display_name} is not connected")
        handler = self._handlers.get((member.verb, member.name))
        if handler is None:
            type_name = DEVICE_TYPE_NAMES.get(self.device_type, self.device_type)
            raise NotImplementedAscom(
                f"{member.verb} {type_name}.{member.name} is not implemented by this simulator"
            )
        self.faults.raise_injected_error(member.name)
        method = getattr(self, handler.method_name)
        if handler.wants_context:
            return method(context=context, **arguments)
        return method(**arguments)

    def reply_delay_s(self, member: Member) -> float:
        """Wall seconds an injected slow fault adds before ``member`` answers."""
        return self.faults.reply_delay_s(member.name)

    # -- connection -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        if self._connect_done_s is not None and self.clock.now_s() >= self._connect_done_s:
            self._connect_done_s = None
            self._connected = True
            self.on_connected()
        return self._connected

    def on_connected(self) -> None:
        """Hook run when a connection completes (override to reset state)."""

    @get("connected")
    def get_connected(self) -> bool:
        return self.connected

    @put("connected")
    def set_connected(self, connected: bool) -> None:
        if connected and not self.connected:
            self._connect_done_s = None
            self._connected = True
            self.on_connected()
        elif not connected:
            self._connect_done_s = None
            self._connected = False

    @get("connecting")
    def get_connecting(self) -> bool:
        return not self.connected and self._connect_done_s is not None

    @put("connect")
    def connect(self) -> None:
        """Asynchronous: Connecting is true for ``connect_delay_s`` simulated seconds."""
        if self.connected or self._connect_done_s is not None:
            return
        self._connect_done_s = self.clock.now_s() + self.settings.connect_delay_s
        self.connected  # noqa: B018 - a zero delay completes at once

    @put("disconnect")
    def disconnect(self) -> None:
        self.set_connected(False)

    # -- identity ---------------------------------------------------------------------

    @get("name")
    def get_name(self) -> str:
        return self.display_name

    @get("description")
    def get_description(self) -> str:
        return self.settings.description or self.default_description

    @get("driverinfo")
    def get_driver_info(self) -> str:
        return f"Observatory Alpaca simulator: {self.default_description}"

    @get("driverversion")
    def get_driver_version(self) -> str:
        return __version__

    @get("interfaceversion")
    def get_interface_version(self) -> int:
        return self.interface_version

    # -- device state -----------------------------------------------------------------

    @get("devicestate")
    def get_device_state(self) -> list[dict[str, Any]]:
        """DeviceState: each listed member's value, omitting those not known.

        ASCOM asks DeviceState never to fail for a value it does not know: a member
        without a handler, or whose handler refuses (e.g. 0x402 value not set), is left
        out; with nothing known the list is empty, without a TimeStamp.
        """
        state: list[dict[str, Any]] = []
        for ascom_name, member in self.device_state_members:
            handler = self._handlers.get(("GET", member))
            if handler is None:
                continue
            try:
                value = getattr(self, handler.method_name)()
            except AscomError:
                continue  # unknown right now: omitted, as the DeviceState rules require
            state.append({"Name": ascom_name, "Value": value})
        if not state:
            return state
        stamp = self.clock.utc_now().astimezone(UTC).isoformat(timespec="microseconds")
        state.append({"Name": "TimeStamp", "Value": stamp.replace("+00:00", "Z")})
        return state

    def ground_truth(self) -> dict[str, Any]:
        """The true internal state, for tests (the ``simulator:state`` Action)."""
        return {"connected": self.connected}

    # -- actions and faults -----------------------------------------------------------

    @get("supportedactions")
    def get_supported_actions(self) -> list[str]:
        return sorted(self._actions)

    @put("action")
    def run_action(self, action: str, parameters: str) -> Any:
        method_name = self._actions.get(action.lower())
        if method_name is None:
            raise ActionNotImplemented(f"action {action!r} is not supported")
        return getattr(self, method_name)(parameters)

    @action("simulator:state")
    def action_state(self, parameters: str) -> str:
        return json.dumps(self.ground_truth())

    @action("simulator:fault")
    def action_fault(self, parameters: str) -> str:
        try:
            spec = json.loads(parameters)
        except json.JSONDecodeError as error:
            raise InvalidValue(f"simulator:fault expects a JSON object: {error}") from error
        if not isinstance(spec, dict):
            raise InvalidValue("simulator:fault expects a JSON object")
        self.apply_fault(spec)
        return json.dumps(self.describe_faults())

    @action("simulator:faults")
    def action_faults(self, parameters: str) -> str:
        return json.dumps(self.describe_faults())

    def apply_fault(self, spec: dict[str, Any]) -> None:
        """Apply one fault spec. Subclasses handle their own kinds, then call super().

        Raises InvalidValue for an unknown kind or a malformed spec.
        """
        kind = fault_kind(spec)
        if kind not in GENERIC_KINDS:
            raise InvalidValue(f"{self.display_name} has no fault kind {kind!r}")
        self.faults.add(spec)

    def describe_faults(self) -> list[dict[str, Any]]:
        return self.faults.describe()


def not_simulated_class(device_type: str) -> type[Device]:
    """A device class for a configured type that has no mechanism yet: common members only.

    Every type-specific member answers 0x400 NotImplemented, which the spec allows.
    """
    type_name = DEVICE_TYPE_NAMES[device_type]
    return type(
        f"NotSimulated{type_name}",
        (Device,),
        {
            "device_type": device_type,
            "default_name": f"{type_name} (not simulated)",
            "default_description": f"{type_name} whose mechanism is not simulated",
        },
    )
