"""A work order's id is unique per user and per queue, no longer per user alone.

The original design notes send ``"id": "1"`` from ``"Main Module"`` both to the processor
(``calibrate_file_batch``) and to the telescope (``observation``): two different orders.
The key becomes (``order_id``, ``user``, ``queue``). A rejected order has no queue (NULL)
and takes no id; the intake keeps one rejected row per id and user itself.

Downgrading is refused while two stored orders share an id and a user: the old key could
not hold them, and which to delete is not the migration's choice.

Revision ID: 0016_order_id_per_queue
Revises: 0015_camera_setup
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_order_id_per_queue"
down_revision: str | None = "0015_camera_setup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_constraint(batch.f("uq_work_orders_order_id_user"), type_="unique")
        batch.create_unique_constraint(
            batch.f("uq_work_orders_order_id_user_queue"), ["order_id", "user", "queue"]
        )


def downgrade() -> None:
    shared = op.get_bind().execute(
        sa.text(
            'SELECT order_id, "user" FROM work_orders GROUP BY order_id, "user" '
            "HAVING COUNT(*) > 1 LIMIT 5"
        )
    )
    pairs = [f"{order_id!r} of {user!r}" for order_id, user in shared]
    if pairs:
        raise RuntimeError(
            "cannot downgrade below 0016: these ids name orders of several queues: "
            + ", ".join(pairs)
        )
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_constraint(batch.f("uq_work_orders_order_id_user_queue"), type_="unique")
        batch.create_unique_constraint(
            batch.f("uq_work_orders_order_id_user"), ["order_id", "user"]
        )
