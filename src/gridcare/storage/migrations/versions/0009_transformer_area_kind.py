"""archives: the kind of a 台区, public (公变) or dedicated (专变); existing 台区 become public

On SQLite the column and its CHECK constraint are added (and dropped) in place with ALTER TABLE rather than
by batch mode's copy-and-rename of the table: meter boxes, terminals and metering points refer to
``transformer_areas``, and with foreign keys enforced (gridcare turns them on) dropping the old copy of a
table that has rows referring to it fails.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 09:00:00.000000
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHECK_NAME = "ck_transformer_areas_kind_allowed"
CHECK = "kind IN ('public', 'dedicated')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE transformer_areas ADD COLUMN kind VARCHAR(16) DEFAULT 'public' NOT NULL "
            f"CONSTRAINT {CHECK_NAME} CHECK ({CHECK})"
        )
        return
    with op.batch_alter_table("transformer_areas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="public", nullable=False))
        batch_op.create_check_constraint(batch_op.f(CHECK_NAME), CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 35, 0):
        # a column CHECK constraint goes with its column
        op.execute("ALTER TABLE transformer_areas DROP COLUMN kind")
        return
    with op.batch_alter_table("transformer_areas", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(CHECK_NAME), type_="check")
        batch_op.drop_column("kind")
