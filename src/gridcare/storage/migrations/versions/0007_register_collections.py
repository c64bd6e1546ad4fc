"""acquisition: outcomes of the extra daily frozen registers (reactive, maximum demand) per point and item

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_collections",
        sa.Column("metering_point_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("di", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ok", "failed", name="point_status", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "reason",
            sa.Enum(
                "terminal_offline",
                "no_reply",
                "abnormal_reply",
                "invalid_data",
                name="failure_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["metering_point_id"],
            ["metering_points.id"],
            name=op.f("fk_register_collections_metering_point_id_metering_points"),
        ),
        sa.PrimaryKeyConstraint(
            "metering_point_id", "business_date", "di", name=op.f("pk_register_collections")
        ),
    )
    with op.batch_alter_table("register_collections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_collections_business_date"), ["business_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("register_collections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_collections_business_date"))
    op.drop_table("register_collections")
