"""Text read from frame headers gets room: a filter as long as an order may name one
(128 characters; FILTER1+FILTER2 joined, or 'Astrodon Ha 3nm + Baader UV/IR cut', passed
32), a detector name with its EXTVER, and master group keys made of both. PostgreSQL
refused a longer value and with it the whole ingest.

Revision ID: 0014_header_text_widths
Revises: 0013_order_progress
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_header_text_widths"
down_revision: str | None = "0013_order_progress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, width before, width after)
WIDENED = (
    ("exposures", "filter", 32, 128),
    ("exposures", "detector", 64, 128),
    ("master_frames", "group_key", 128, 320),
    ("master_frames", "filter", 32, 128),
    ("master_frames", "detector", 64, 128),
    ("focus_runs", "filter", 64, 128),
)


def _alter(widen: bool) -> None:
    for table in dict.fromkeys(table for table, *_ in WIDENED):
        with op.batch_alter_table(table) as batch:
            for name, column, narrow, wide in WIDENED:
                if name == table:
                    before, after = (narrow, wide) if widen else (wide, narrow)
                    batch.alter_column(
                        column, type_=sa.String(after), existing_type=sa.String(before)
                    )


def upgrade() -> None:
    _alter(widen=True)


def downgrade() -> None:
    # A value longer than the old width would be cut (or refused by PostgreSQL): refuse
    # rather than change what a row says.
    bind = op.get_bind()
    for table, column, old, _new in WIDENED:
        longest = bind.execute(sa.text(f"SELECT MAX(LENGTH({column})) FROM {table}")).scalar()
        if longest is not None and longest > old:
            raise RuntimeError(
                f"cannot downgrade below 0014: {table}.{column} holds a value of {longest}"
                f" characters, over the old {old}; shorten or delete those rows first"
            )
    _alter(widen=False)
