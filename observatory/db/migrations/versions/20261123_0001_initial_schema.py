"""Initial schema: work orders, step runs, file batches, exposures, master and calibrated
frames, device events.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, *, nullable: bool = False) -> sa.Column:
    json_type = sa.JSON(none_as_null=nullable).with_variant(
        postgresql.JSONB(none_as_null=nullable, astext_type=sa.Text()), "postgresql"
    )
    return sa.Column(name, json_type, nullable=nullable)


def _enum(name: str, type_name: str, *values: str) -> sa.Column:
    # Short strings with a CHECK constraint named ck_<table>_<type_name>.
    enum_type = sa.Enum(
        *values, name=type_name, native_enum=False, create_constraint=True, length=16
    )
    return sa.Column(name, enum_type, nullable=False)


def _pk() -> sa.Column:
    return sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False)


def _fk(
    column: str, table: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.pk"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "work_orders",
        _pk(),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=False),
        sa.Column("request", sa.String(length=64), nullable=False),
        _json("payload"),
        sa.Column("priority", sa.Float(), nullable=True),
        _enum(
            "state",
            "work_order_state",
            "received",
            "queued",
            "running",
            "succeeded",
            "failed",
            "partial",
            "cancelled",
            "rejected",
        ),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("queue", sa.String(length=32), nullable=True),
        sa.Column("task_name", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _utc("received_at"),
        _utc("updated_at"),
        _utc("published_at", nullable=True),
        _utc("started_at", nullable=True),
        _utc("finished_at", nullable=True),
        sa.Column("parent_pk", sa.Integer(), nullable=True),
        _fk("parent_pk", "work_orders", "work_orders", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("order_id", "user", name=op.f("uq_work_orders_order_id_user")),
    )
    op.create_index(op.f("ix_work_orders_parent_pk"), "work_orders", ["parent_pk"])
    op.create_index(op.f("ix_work_orders_state_priority"), "work_orders", ["state", "priority"])

    op.create_table(
        "step_runs",
        _pk(),
        sa.Column("work_order_pk", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _enum("state", "step_state", "running", "succeeded", "failed", "skipped"),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=True),
        _utc("started_at"),
        _utc("ended_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        _json("outputs", nullable=True),
        _fk("work_order_pk", "step_runs", "work_orders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_step_runs")),
        sa.UniqueConstraint(
            "work_order_pk",
            "step",
            "attempt",
            name=op.f("uq_step_runs_work_order_pk_step_attempt"),
        ),
    )

    op.create_table(
        "file_batches",
        _pk(),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("work_order_pk", sa.Integer(), nullable=True),
        _enum("state", "file_batch_state", "open", "complete", "transferred", "failed"),
        _utc("created_at"),
        _utc("completed_at", nullable=True),
        _json("manifest", nullable=True),
        _fk("work_order_pk", "file_batches", "work_orders", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_file_batches")),
        sa.UniqueConstraint("name", name=op.f("uq_file_batches_name")),
    )
    op.create_index(op.f("ix_file_batches_work_order_pk"), "file_batches", ["work_order_pk"])

    op.create_table(
        "exposures",
        _pk(),
        sa.Column("file_batch_pk", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("imagetyp", sa.String(length=16), nullable=False),
        sa.Column("exptime_s", sa.Float(), nullable=False),
        sa.Column("filter", sa.String(length=32), nullable=True),
        _utc("date_obs"),
        sa.Column("ra_deg", sa.Float(), nullable=True),
        sa.Column("dec_deg", sa.Float(), nullable=True),
        sa.Column("object", sa.String(length=128), nullable=True),
        sa.Column("ccd_temp_c", sa.Float(), nullable=True),
        sa.Column("binning", sa.Integer(), nullable=False),
        sa.Column("naxis1", sa.Integer(), nullable=True),
        sa.Column("naxis2", sa.Integer(), nullable=True),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        _json("header"),
        _enum("state", "exposure_state", "ok", "rejected"),
        sa.Column("error", sa.Text(), nullable=True),
        _fk("file_batch_pk", "exposures", "file_batches", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_exposures")),
        sa.UniqueConstraint("file_batch_pk", "path", name=op.f("uq_exposures_file_batch_pk_path")),
    )

    # group_key = kind|filter|exptime|binning as text, so that "no filter" compares equal.
    op.create_table(
        "master_frames",
        _pk(),
        _enum("kind", "master_kind", "bias", "dark", "flat"),
        sa.Column("file_batch_pk", sa.Integer(), nullable=True),
        sa.Column("group_key", sa.String(length=128), nullable=False),
        sa.Column("filter", sa.String(length=32), nullable=True),
        sa.Column("exptime_s", sa.Float(), nullable=True),
        sa.Column("binning", sa.Integer(), nullable=False),
        sa.Column("naxis1", sa.Integer(), nullable=False),
        sa.Column("naxis2", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("n_inputs", sa.Integer(), nullable=False),
        _json("inputs"),
        _json("stats"),
        sa.Column("method", sa.String(length=32), nullable=False),
        _utc("date_obs"),
        sa.Column("is_bad", sa.Boolean(), nullable=False),
        _utc("created_at"),
        _fk("file_batch_pk", "master_frames", "file_batches", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_master_frames")),
        sa.UniqueConstraint(
            "file_batch_pk", "group_key", name=op.f("uq_master_frames_file_batch_pk_group_key")
        ),
    )
    op.create_index(
        op.f("ix_master_frames_group_key_date_obs"), "master_frames", ["group_key", "date_obs"]
    )

    op.create_table(
        "calibrated_frames",
        _pk(),
        sa.Column("exposure_pk", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("bias_pk", sa.Integer(), nullable=True),
        sa.Column("dark_pk", sa.Integer(), nullable=True),
        sa.Column("flat_pk", sa.Integer(), nullable=True),
        _json("stats"),
        _enum("wcs_status", "wcs_status", "pending", "solved", "unsolved", "failed", "skipped"),
        sa.Column("ra_center_deg", sa.Float(), nullable=True),
        sa.Column("dec_center_deg", sa.Float(), nullable=True),
        sa.Column("pixel_scale_arcsec", sa.Float(), nullable=True),
        sa.Column("solve_time_s", sa.Float(), nullable=True),
        _utc("created_at"),
        _fk("exposure_pk", "calibrated_frames", "exposures", ondelete="CASCADE"),
        _fk("bias_pk", "calibrated_frames", "master_frames"),
        _fk("dark_pk", "calibrated_frames", "master_frames"),
        _fk("flat_pk", "calibrated_frames", "master_frames"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_calibrated_frames")),
        sa.UniqueConstraint("exposure_pk", name=op.f("uq_calibrated_frames_exposure_pk")),
    )

    op.create_table(
        "device_events",
        _pk(),
        _utc("at"),
        sa.Column("device", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        _json("details"),
        sa.Column("work_order_pk", sa.Integer(), nullable=True),
        _fk("work_order_pk", "device_events", "work_orders", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_device_events")),
    )
    op.create_index(op.f("ix_device_events_device_at"), "device_events", ["device", "at"])
    op.create_index(op.f("ix_device_events_work_order_pk"), "device_events", ["work_order_pk"])


def downgrade() -> None:
    # Children before parents; indexes go with their tables.
    for table in (
        "device_events",
        "calibrated_frames",
        "master_frames",
        "exposures",
        "file_batches",
        "step_runs",
        "work_orders",
    ):
        op.drop_table(table)
