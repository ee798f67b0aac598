"""Exposures and master frames name their detector (one extension of a multi-extension
file calibrated on its own); the empty name, every existing row's, is a single detector.

Revision ID: 0011_exposure_detector
Revises: 0010_calibration_flags
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_exposure_detector"
down_revision: str | None = "0010_calibration_flags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exposures") as batch:
        batch.add_column(
            sa.Column("detector", sa.String(length=64), nullable=False, server_default="")
        )
        batch.drop_constraint("uq_exposures_file_batch_pk_path", type_="unique")
        batch.create_unique_constraint(
            "uq_exposures_file_batch_pk_path_detector", ["file_batch_pk", "path", "detector"]
        )
    with op.batch_alter_table("master_frames") as batch:
        batch.add_column(
            sa.Column("detector", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    # Only single-detector rows fit the old unique (batch, path).
    op.execute("DELETE FROM exposures WHERE detector <> ''")
    op.execute("DELETE FROM master_frames WHERE detector <> ''")
    with op.batch_alter_table("master_frames") as batch:
        batch.drop_column("detector")
    with op.batch_alter_table("exposures") as batch:
        batch.drop_constraint("uq_exposures_file_batch_pk_path_detector", type_="unique")
        batch.create_unique_constraint("uq_exposures_file_batch_pk_path", ["file_batch_pk", "path"])
        batch.drop_column("detector")
