"""Plate solutions say which solver found them and how many catalogue stars matched.

Revision ID: 0007_plate_solver
Revises: 0006_work_order_batch
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_plate_solver"
down_revision: str | None = "0006_work_order_batch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calibrated_frames") as batch:
        batch.add_column(sa.Column("matched_stars", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("plate_solver", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calibrated_frames") as batch:
        batch.drop_column("plate_solver")
        batch.drop_column("matched_stars")
