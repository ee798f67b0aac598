"""Calibrated frames record their image quality and the flags its thresholds raise.

Revision ID: 0009_frame_quality
Revises: 0008_focus_runs
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_frame_quality"
down_revision: str | None = "0008_focus_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(none_as_null: bool) -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=none_as_null).with_variant(
        postgresql.JSONB(none_as_null=none_as_null, astext_type=sa.Text()), "postgresql"
    )


def upgrade() -> None:
    with op.batch_alter_table("calibrated_frames") as batch:
        batch.add_column(sa.Column("quality", _json(True), nullable=True))
        batch.add_column(
            sa.Column("quality_flags", _json(False), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("calibrated_frames") as batch:
        batch.drop_column("quality_flags")
        batch.drop_column("quality")
