"""Autofocus runs: the V-curve measured, its fit, and where the focuser was left.

Revision ID: 0008_focus_runs
Revises: 0007_plate_solver
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_focus_runs"
down_revision: str | None = "0007_plate_solver"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(name: str) -> sa.Column:
    json_type = sa.JSON(none_as_null=False).with_variant(
        postgresql.JSONB(none_as_null=False, astext_type=sa.Text()), "postgresql"
    )
    return sa.Column(name, json_type, nullable=False)


def upgrade() -> None:
    op.create_table(
        "focus_runs",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("work_order_pk", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filter", sa.String(length=64), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("exposure_s", sa.Float(), nullable=False),
        _json("positions"),
        _json("hfd_px"),
        _json("stars"),
        _json("fit"),
        sa.Column("best_position", sa.Float(), nullable=True),
        sa.Column("position_before", sa.Integer(), nullable=False),
        sa.Column("position_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_order_pk"],
            ["work_orders.pk"],
            name=op.f("fk_focus_runs_work_order_pk_work_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_focus_runs")),
    )
    op.create_index(op.f("ix_focus_runs_at"), "focus_runs", ["at"])
    op.create_index(op.f("ix_focus_runs_work_order_pk"), "focus_runs", ["work_order_pk"])


def downgrade() -> None:
    op.drop_table("focus_runs")
