"""Exposures record why a calibration frame was left out of its master.

Revision ID: 0010_calibration_flags
Revises: 0009_frame_quality
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_calibration_flags"
down_revision: str | None = "0009_frame_quality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    flags = sa.JSON(none_as_null=False).with_variant(
        postgresql.JSONB(none_as_null=False, astext_type=sa.Text()), "postgresql"
    )
    with op.batch_alter_table("exposures") as batch:
        batch.add_column(sa.Column("quality_flags", flags, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("exposures") as batch:
        batch.drop_column("quality_flags")
