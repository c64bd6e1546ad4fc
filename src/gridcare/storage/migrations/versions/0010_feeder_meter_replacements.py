"""metering assets: a replacement (换表) of a feeder head meter (线路关口表) is on ``feeder_meters`` rows
instead of metering points; the point ids become nullable and exactly one kind of place is set

On SQLite batch mode rebuilds ``meter_replacements`` (copy and rename): no table refers to it, so with
foreign keys enforced dropping the old copy is allowed. Downgrading is refused (nothing changed) while
replacements of head meters exist: the older schema cannot hold them, and no record is dropped silently.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridcare.storage.migrate import DowngradeRefused

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CHECK_NAME = "ck_meter_replacements_point_or_feeder_meter"
CHECK = (
    "(old_point_id IS NOT NULL AND new_point_id IS NOT NULL"
    " AND old_feeder_meter_id IS NULL AND new_feeder_meter_id IS NULL)"
    " OR (old_point_id IS NULL AND new_point_id IS NULL"
    " AND old_feeder_meter_id IS NOT NULL AND new_feeder_meter_id IS NOT NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("meter_replacements", schema=None) as batch_op:
        batch_op.alter_column("old_point_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("new_point_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("old_feeder_meter_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("new_feeder_meter_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_meter_replacements_old_feeder_meter_id_feeder_meters"),
            "feeder_meters",
            ["old_feeder_meter_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_meter_replacements_new_feeder_meter_id_feeder_meters"),
            "feeder_meters",
            ["new_feeder_meter_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_meter_replacements_new_feeder_meter_id"), ["new_feeder_meter_id"]
        )
        batch_op.create_check_constraint(batch_op.f(CHECK_NAME), CHECK)


def downgrade() -> None:
    heads = (
        op.get_bind()
        .execute(sa.text("SELECT COUNT(*) FROM meter_replacements WHERE old_feeder_meter_id IS NOT NULL"))
        .scalar()
    )
    if heads:
        raise DowngradeRefused(
            f"revision 0010: {heads} replacement(s) of feeder head meters exist and revision 0009 cannot "
            "hold them; export them (meter history) and delete them first - nothing was changed"
        )
    with op.batch_alter_table("meter_replacements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(CHECK_NAME), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_meter_replacements_new_feeder_meter_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_meter_replacements_new_feeder_meter_id_feeder_meters"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_meter_replacements_old_feeder_meter_id_feeder_meters"), type_="foreignkey"
        )
        batch_op.drop_column("new_feeder_meter_id")
        batch_op.drop_column("old_feeder_meter_id")
        batch_op.alter_column("new_point_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("old_point_id", existing_type=sa.Integer(), nullable=False)
