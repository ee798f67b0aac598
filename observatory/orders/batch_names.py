"""The file batch a processor order names, checked at receipt as the transfer checks it."""

from __future__ import annotations

from observatory.errors import TransferRefused, WorkOrderInvalid
from observatory.orders.models import CalibrateFileBatchOrder, WorkOrderBase
from observatory.settings import Settings
from observatory.transfer import check_batch_name, check_batch_url


def batch_at_receipt(settings: Settings, order: WorkOrderBase) -> str | None:
    """The batch name ``order`` names (None for orders that name none).

    A ``calibrate_file_batch`` url must pass :func:`observatory.transfer.check_batch_url`
    (the transfer's own rule, on its face: no DNS, no file system), a resume or restart
    ``batch`` must be one plain folder name. Raises WorkOrderInvalid naming the field.
    """
    if isinstance(order, CalibrateFileBatchOrder):
        try:
            return check_batch_url(settings, order.url).name
        except TransferRefused as error:
            raise WorkOrderInvalid(f"url: {error}") from None
    name = getattr(order, "batch", None)
    try:
        return None if name is None else check_batch_name(name, "batch")
    except TransferRefused as error:
        raise WorkOrderInvalid(str(error)) from None
