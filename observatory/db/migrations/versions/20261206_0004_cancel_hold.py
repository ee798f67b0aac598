"""Cancel requests on work orders, and held queues.

``cancel_requested_at``, ``cancelled_by`` and ``cancel_reason`` record who asked for an
order to be cancelled and why. A queued order is cancelled at once; a running one keeps
running until the worker that runs it sees the request and stops (the telescope aborts its
exposure, the processor stops after the units already running).

``queue_holds`` has one row per held queue: while a row exists, nothing of that queue
starts and its orders stay ``queued`` until the queue is released.

Revision ID: 0004_cancel_hold
Revises: 0003_scheduling
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_cancel_hold"
down_revision: str | None = "0003_scheduling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(
            sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("cancelled_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
    op.create_table(
        "queue_holds",
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("queue", name=op.f("pk_queue_holds")),
    )


def downgrade() -> None:
    op.drop_table("queue_holds")
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_by")
        batch.drop_column("cancel_requested_at")
