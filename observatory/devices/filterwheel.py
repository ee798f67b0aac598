"""The filter wheel: selects a filter by name and waits until it is in the beam.

``Position`` reads -1 while the wheel turns (ASCOM); selecting the filter already in the
beam returns at once.
"""

from __future__ import annotations

from functools import cached_property

from alpaca.filterwheel import FilterWheel

from observatory.devices.alpaca_client import open_device
from observatory.errors import ConfigurationError, InvalidTarget
from observatory.settings import DeviceSettings, TelescopeSettings, get_settings

# FilterWheel interface version 3 is Platform 7 (asynchronous Connect).
FILTERWHEEL_PLATFORM7_VERSION = 3


class FilterWheelAdapter:
    """An Alpaca filter wheel at ``devices.filterwheel_address``, device
    ``filterwheel_number``. Moves time out after ``telescope.filter_timeout_s``
    (:class:`DeviceTimeout`); an unknown filter name is :class:`InvalidTarget`, naming
    the filters the wheel holds. Not thread-safe: one adapter per thread."""

    def __init__(
        self, devices: DeviceSettings | None = None, telescope: TelescopeSettings | None = None
    ) -> None:
        self.devices = devices if devices is not None else get_settings().devices
        self.telescope = telescope if telescope is not None else get_settings().telescope
        if self.devices.filterwheel_address is None:
            # The settings say the site has none: nothing may be sent to one.
            raise ConfigurationError("no filter wheel is configured (devices.filterwheel_address)")
        self._wheel, self._client = open_device(
            self.devices, "filterwheel", FilterWheel, "filter wheel", FILTERWHEEL_PLATFORM7_VERSION
        )

    @property
    def label(self) -> str:
        return self._client.label

    @cached_property
    def names(self) -> list[str]:
        """The filters by slot (connects on first use)."""
        return [str(name) for name in self._client.call("names", lambda: self._wheel.Names)]

    @cached_property
    def focus_offsets(self) -> dict[str, int]:
        """Focuser steps to add for each filter, relative to the others (by name)."""
        offsets = self._client.call("focusoffsets", lambda: self._wheel.FocusOffsets)
        return {name: int(offset) for name, offset in zip(self.names, offsets, strict=True)}

    def position(self) -> int | None:
        """The slot in the beam, or None while the wheel turns."""
        slot = int(self._client.call("position", lambda: self._wheel.Position))
        return None if slot < 0 else slot

    def current_filter(self) -> str | None:
        """The name of the filter in the beam, or None while the wheel turns."""
        slot = self.position()
        return None if slot is None else self.names[slot]

    def slot_of(self, name: str) -> int:
        """The slot holding filter ``name`` (exact match first, then ignoring case)."""
        names = self.names
        if name in names:
            return names.index(name)
        folded = [n.casefold() for n in names]
        if name.casefold() in folded:
            return folded.index(name.casefold())
        raise InvalidTarget(f"filter {name!r} is not in {self.label}; it holds {names}")

    def select(self, name: str) -> str:
        """Turn filter ``name`` into the beam and wait until it is there; returns the name
        as the wheel spells it."""
        slot = self.slot_of(name)
        if self.position() == slot:
            return self.names[slot]
        self._client.call("position", lambda: setattr(self._wheel, "Position", slot))
        self._client.wait_until(
            command="select",
            target=f"filter {self.names[slot]!r} (slot {slot})",
            read_state=self.position,
            reached=lambda position: position == slot,
            timeout_s=self.telescope.filter_timeout_s,
        )
        return self.names[slot]
