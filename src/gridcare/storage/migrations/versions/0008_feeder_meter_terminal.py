"""archives: the terminal and measuring point (Pn) that read each feeder head meter; acquisition: outcomes of
the daily frozen reading of feeder head meters

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeder_meters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terminal_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("point_number", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_feeder_meters_terminal_id_terminals"), "terminals", ["terminal_id"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_feeder_meters_point_number_range"),
            "point_number IS NULL OR (point_number >= 1 AND point_number <= 2040)",
        )
        batch_op.create_index(batch_op.f("ix_feeder_meters_terminal_id"), ["terminal_id"], unique=False)

    op.create_table(
        "feeder_meter_collections",
        sa.Column("feeder_meter_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
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
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feeder_meter_id"],
            ["feeder_meters.id"],
            name=op.f("fk_feeder_meter_collections_feeder_meter_id_feeder_meters"),
        ),
        sa.PrimaryKeyConstraint("feeder_meter_id", "business_date", name=op.f("pk_feeder_meter_collections")),
    )
    with op.batch_alter_table("feeder_meter_collections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feeder_meter_collections_business_date"), ["business_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feeder_meter_collections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feeder_meter_collections_business_date"))
    op.drop_table("feeder_meter_collections")
    with op.batch_alter_table("feeder_meters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feeder_meters_terminal_id"))
        batch_op.drop_constraint(batch_op.f("ck_feeder_meters_point_number_range"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_feeder_meters_terminal_id_terminals"), type_="foreignkey")
        batch_op.drop_column("point_number")
        batch_op.drop_column("terminal_id")
