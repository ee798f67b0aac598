"""Exposures and master frames record the camera setup a master must share with the
frames it calibrates: the gain and offset settings and the subframe origin as the
headers write them ("gain 100, offset 50, origin 48,32"; see processor.setups). The
empty text, every existing row's, is a frame whose headers write none of them. The
master group key, which ends with the setup, gets its room.

Revision ID: 0015_camera_setup
Revises: 0014_header_text_widths
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_camera_setup"
down_revision: str | None = "0014_header_text_widths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GROUP_KEY_BEFORE, GROUP_KEY_AFTER = 320, 392


def upgrade() -> None:
    with op.batch_alter_table("exposures") as batch:
        batch.add_column(
            sa.Column("camera_setup", sa.String(length=64), nullable=False, server_default="")
        )
    with op.batch_alter_table("master_frames") as batch:
        batch.add_column(
            sa.Column("camera_setup", sa.String(length=64), nullable=False, server_default="")
        )
        batch.alter_column(
            "group_key",
            type_=sa.String(GROUP_KEY_AFTER),
            existing_type=sa.String(GROUP_KEY_BEFORE),
        )


def downgrade() -> None:
    # Masters of one group in two setups would share a key without their setups.
    op.execute("DELETE FROM master_frames WHERE camera_setup <> ''")
    with op.batch_alter_table("master_frames") as batch:
        batch.drop_column("camera_setup")
        batch.alter_column(
            "group_key",
            type_=sa.String(GROUP_KEY_BEFORE),
            existing_type=sa.String(GROUP_KEY_AFTER),
        )
    with op.batch_alter_table("exposures") as batch:
        batch.drop_column("camera_setup")
