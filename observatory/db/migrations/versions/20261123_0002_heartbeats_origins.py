"""Heartbeats of long-running processes, and the host that holds each product.

``heartbeats`` lets the safety supervisor see that the telescope worker is alive without
going through the broker. ``origin_url`` on master and calibrated frames names the file
server of the host that wrote the product, so that a processor on another host can fetch it.

Revision ID: 0002_heartbeats_origins
Revises: 0001_initial
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_heartbeats_origins"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    details_type = sa.JSON(none_as_null=False).with_variant(
        postgresql.JSONB(none_as_null=False, astext_type=sa.Text()), "postgresql"
    )
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", details_type, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeats")),
    )
    for table in ("master_frames", "calibrated_frames"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("origin_url", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in ("calibrated_frames", "master_frames"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("origin_url")
    op.drop_table("heartbeats")
