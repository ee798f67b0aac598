"""The project's exception types.

Library code raises these; foreign exceptions (alpyca, requests, SQLAlchemy, astropy) are
translated into them at one boundary each. Nothing here is ever caught and dropped: a task
that meets one records it, tells the admins and re-raises it.
"""


class ObservatoryError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigurationError(ObservatoryError):
    """A setting is missing or has a value that cannot work."""


class WorkOrderInvalid(ObservatoryError):
    """A work order failed validation; the message names the offending field."""


class InvalidTransition(ObservatoryError):
    """A work-order state change that the transition table does not allow."""


class WorkOrderNotFound(ObservatoryError):
    """No work order with the given id (and user) is stored."""


class DeviceError(ObservatoryError):
    """An Alpaca device refused a command or answered with an error."""


class DeviceUnreachable(DeviceError):
    """The device's HTTP endpoint could not be reached (refused, reset, DNS)."""


class DeviceTimeout(DeviceError):
    """A device did not answer, or did not reach the commanded state, in time."""


class DeviceNotConnected(DeviceError):
    """The device answered that it is not connected."""


class DeviceRefused(DeviceError):
    """The device understood a command and refused it (invalid value, parked, slaved, not
    implemented, invalid in its current state); repeating it would be refused again."""


class InvalidTarget(ObservatoryError, ValueError):
    """A commanded position or value is out of range or not a number; the message names it."""


class UnsafeConditions(ObservatoryError):
    """The safety monitor reports unsafe (or unknown) conditions."""


class StepFailed(ObservatoryError):
    """A recorded step of a work order failed; the cause is chained. ``details`` (the
    failed units' tracebacks) go to the step's traceback and the admins' email, not into
    its one-line error."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class MasterFrameMissing(ObservatoryError):
    """No usable master calibration frame exists for a group of exposures."""


class TransferRefused(ObservatoryError):
    """A file-batch URL, manifest or archive member was refused (scheme, host, path, size)."""


class TransferFailed(ObservatoryError):
    """A transfer that was allowed did not complete (network error, HTTP error status, a
    body shorter than announced); repeating it may succeed and resumes partial files."""


class ChecksumMismatch(TransferFailed):
    """A transferred or verified file's sha256 or size differs from its manifest entry."""


class PublishFailed(ObservatoryError):
    """A stored work order could not be handed to the broker (it will be republished)."""


class FrameMismatch(ObservatoryError):
    """Frames, or a frame and a master, that must agree do not (shape, count, exposure)."""


class FrameFormatUnsupported(ObservatoryError):
    """A FITS file holds no plain 2-D image that the calibration code can read."""


class FlatFieldInvalid(ObservatoryError):
    """A flat field has zero, negative or non-finite pixels, or no positive level."""


class NothingToReport(ObservatoryError):
    """No night to report on: the database holds no work orders and none was named."""


class OrderEnded(ObservatoryError):
    """A work order that has already ended cannot be cancelled; the message names its state."""


class OrderAmbiguous(ObservatoryError):
    """Several users submitted the same id and none was named."""


class OrderCancelled(ObservatoryError):
    """A running order saw its cancel request and stopped; the message says who and why."""


class AutofocusFailed(ObservatoryError):
    """An autofocus run could not find best focus; the focuser was put back."""


class StorageFull(ObservatoryError):
    """A write would leave its data folder with less free space than the reserve."""
