"""A batch may hold masters of one group in two frame sizes (a full frame and a
subframe): the unique key of master frames takes their size too.

Revision ID: 0012_master_frame_size
Revises: 0011_exposure_detector
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_master_frame_size"
down_revision: str | None = "0011_exposure_detector"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("master_frames") as batch:
        batch.drop_constraint("uq_master_frames_file_batch_pk_group_key", type_="unique")
        batch.create_unique_constraint(
            "uq_master_frames_file_batch_pk_group_key_naxis1_naxis2",
            ["file_batch_pk", "group_key", "naxis1", "naxis2"],
        )


def downgrade() -> None:
    # Only one size per group fits the old unique (batch, group), and calibrated frames
    # point at the masters: refuse rather than choose which master to lose.
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT file_batch_pk, group_key FROM master_frames"
                " WHERE file_batch_pk IS NOT NULL"
                " GROUP BY file_batch_pk, group_key HAVING COUNT(*) > 1"
            )
        )
        .all()
    )
    if clashes:
        named = ", ".join(f"batch {batch} {key}" for batch, key in clashes[:5])
        raise RuntimeError(
            f"cannot downgrade below 0012: masters of one group in two frame sizes ({named}); "
            "delete all but one of each first"
        )
    with op.batch_alter_table("master_frames") as batch:
        batch.drop_constraint(
            "uq_master_frames_file_batch_pk_group_key_naxis1_naxis2", type_="unique"
        )
        batch.create_unique_constraint(
            "uq_master_frames_file_batch_pk_group_key", ["file_batch_pk", "group_key"]
        )
