"""Scheduling: why an order got its priority, and when a deferred order may start.

``priority_reasons`` holds the components of the priority assigned on receipt, for
operators. ``ready_at`` is the earliest instant an order may start (its ``not_before``, or
the time its target becomes observable); a queued order with ``ready_at`` in the future
stays unpublished and the reconciler publishes it then.

Revision ID: 0003_scheduling
Revises: 0002_heartbeats_origins
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_scheduling"
down_revision: str | None = "0002_heartbeats_origins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    reasons_type = sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("priority_reasons", reasons_type, nullable=True))
        batch.add_column(sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("ready_at")
        batch.drop_column("priority_reasons")
