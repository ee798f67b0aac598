"""Frames of real cameras: how each exposure was read, and what calibrated each light.

``exposures`` gain the instrument profile that read the file, the header card each value
came from, the readout (amplifier sections, trimmed size), and gain, read noise and
saturation. ``calibrated_frames`` gain the corrections applied, missing and not needed,
and a flag for frames calibrated without one they needed.

Revision ID: 0005_real_frames
Revises: 0004_cancel_hold
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_real_frames"
down_revision: str | None = "0004_cancel_hold"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXPOSURE_FLOATS = ("gain_e_per_adu", "read_noise_e", "saturation_adu")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def upgrade() -> None:
    with op.batch_alter_table("exposures") as batch:
        batch.add_column(sa.Column("profile", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("cards", _json(), nullable=True))
        batch.add_column(sa.Column("readout", _json(), nullable=True))
        for name in _EXPOSURE_FLOATS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    with op.batch_alter_table("calibrated_frames") as batch:
        batch.add_column(sa.Column("corrections", _json(), nullable=True))
        batch.add_column(
            sa.Column("incomplete", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("calibrated_frames") as batch:
        batch.drop_column("incomplete")
        batch.drop_column("corrections")
    with op.batch_alter_table("exposures") as batch:
        for name in reversed(_EXPOSURE_FLOATS):
            batch.drop_column(name)
        batch.drop_column("readout")
        batch.drop_column("cards")
        batch.drop_column("profile")
