"""When a running order last showed progress (claimed, resumed, or one of its units
started): what the reconciler reads to resume a processor chain whose messages were
lost with the broker's last writes.

Revision ID: 0013_order_progress
Revises: 0012_master_frame_size
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_order_progress"
down_revision: str | None = "0012_master_frame_size"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("progressed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("progressed_at")
