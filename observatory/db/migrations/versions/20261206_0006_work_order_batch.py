"""The file batch a processor order names, as an indexed column of ``work_orders``.

``batch`` is set at receipt for ``calibrate_file_batch`` (the name its url names) and
``resume_file_batch`` / ``restart_file_batch`` (their ``batch``), so that the processor
finds a batch's orders by name instead of parsing every stored url. Orders stored before
this revision get it from their payload; one whose url names no plain batch keeps NULL
(it names no batch, and no other order's lookup reads it).

Revision ID: 0006_work_order_batch
Revises: 0005_real_frames
Create Date: 2026-12-06
"""

import json
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0006_work_order_batch"
down_revision: str | None = "0005_real_frames"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As observatory.transfer at this revision (a migration keeps its own copy of the rule).
BATCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("batch", sa.String(length=200), nullable=True))
        batch.create_index(batch.f("ix_work_orders_batch"), ["batch"])
    _fill_stored_orders()


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_index(batch.f("ix_work_orders_batch"))
        batch.drop_column("batch")


def _fill_stored_orders() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT pk, request, payload FROM work_orders WHERE request IN "
            "('calibrate_file_batch', 'resume_file_batch', 'restart_file_batch')"
        )
    )
    for pk, request, payload in list(rows):
        name = _batch_of(request, json.loads(payload) if isinstance(payload, str) else payload)
        if name is not None:
            connection.execute(
                sa.text("UPDATE work_orders SET batch = :batch WHERE pk = :pk"),
                {"batch": name, "pk": pk},
            )


def _batch_of(request: str, payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    if request != "calibrate_file_batch":
        name = payload.get("batch")
        return name if isinstance(name, str) and BATCH_NAME.match(name) else None
    url = payload.get("url")
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    path = unquote(parts.path) if parts.scheme.lower() in ("http", "https", "file") else url
    name = PurePosixPath(path.rstrip("/") or "/").name
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name if BATCH_NAME.match(name) else None
