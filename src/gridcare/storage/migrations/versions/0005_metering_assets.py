"""metering assets: asset-event history, meter replacements (换表), multiplier changes, feeder head meters,
last verification date of a meter

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_verified_on", sa.Date(), nullable=True))
    op.create_table(
        "meter_asset_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=64), nullable=False),
        sa.Column("why", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('transition', 'replacement', 'multiplier_change', 'verification')",
            name=op.f("ck_meter_asset_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_meter_asset_events_meter_id_meters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_asset_events")),
    )
    op.create_index(
        "ix_meter_asset_events_meter_recorded",
        "meter_asset_events",
        ["meter_id", "recorded_at"],
        unique=False,
    )
    op.create_table(
        "meter_replacements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_code", sa.String(length=32), nullable=False),
        sa.Column("old_point_id", sa.Integer(), nullable=False),
        sa.Column("new_point_id", sa.Integer(), nullable=False),
        sa.Column("old_meter_id", sa.Integer(), nullable=False),
        sa.Column("new_meter_id", sa.Integer(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("old_final_kwh", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("new_initial_kwh", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("old_multiplier", sa.Integer(), nullable=False),
        sa.Column("new_multiplier", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(length=64), nullable=False),
        sa.Column("why", sa.String(length=255), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "old_meter_id <> new_meter_id", name=op.f("ck_meter_replacements_different_meters")
        ),
        sa.CheckConstraint(
            "old_multiplier > 0 AND new_multiplier > 0",
            name=op.f("ck_meter_replacements_multipliers_positive"),
        ),
        sa.CheckConstraint(
            "old_final_kwh >= 0 AND new_initial_kwh >= 0",
            name=op.f("ck_meter_replacements_readings_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["new_meter_id"], ["meters.id"], name=op.f("fk_meter_replacements_new_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["new_point_id"],
            ["metering_points.id"],
            name=op.f("fk_meter_replacements_new_point_id_metering_points"),
        ),
        sa.ForeignKeyConstraint(
            ["old_meter_id"], ["meters.id"], name=op.f("fk_meter_replacements_old_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["old_point_id"],
            ["metering_points.id"],
            name=op.f("fk_meter_replacements_old_point_id_metering_points"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_replacements")),
        sa.UniqueConstraint("new_point_id", name=op.f("uq_meter_replacements_new_point_id")),
    )
    op.create_index(op.f("ix_meter_replacements_new_meter_id"), "meter_replacements", ["new_meter_id"])
    op.create_index(op.f("ix_meter_replacements_old_meter_id"), "meter_replacements", ["old_meter_id"])
    op.create_index(op.f("ix_meter_replacements_point_code"), "meter_replacements", ["point_code"])
    op.create_index(op.f("ix_meter_replacements_replaced_at"), "meter_replacements", ["replaced_at"])
    op.create_table(
        "meter_multiplier_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("old_ct_ratio", sa.String(length=16), nullable=False),
        sa.Column("old_pt_ratio", sa.String(length=16), nullable=False),
        sa.Column("old_multiplier", sa.Integer(), nullable=False),
        sa.Column("new_ct_ratio", sa.String(length=16), nullable=False),
        sa.Column("new_pt_ratio", sa.String(length=16), nullable=False),
        sa.Column("new_multiplier", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(length=64), nullable=False),
        sa.Column("why", sa.String(length=255), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "old_multiplier > 0 AND new_multiplier > 0",
            name=op.f("ck_meter_multiplier_changes_multipliers_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_meter_multiplier_changes_meter_id_meters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_multiplier_changes")),
        sa.UniqueConstraint("meter_id", "effective_from", name="uq_meter_multiplier_changes_meter_effective"),
    )
    op.create_index(op.f("ix_meter_multiplier_changes_meter_id"), "meter_multiplier_changes", ["meter_id"])
    op.create_table(
        "feeder_meters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feeder_id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_feeder_meters_valid_range")
        ),
        sa.ForeignKeyConstraint(
            ["feeder_id"], ["feeders.id"], name=op.f("fk_feeder_meters_feeder_id_feeders")
        ),
        sa.ForeignKeyConstraint(["meter_id"], ["meters.id"], name=op.f("fk_feeder_meters_meter_id_meters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeder_meters")),
        sa.UniqueConstraint("feeder_id", "meter_id", "valid_from", name="uq_feeder_meters_feeder_meter_from"),
    )
    op.create_index(op.f("ix_feeder_meters_feeder_id"), "feeder_meters", ["feeder_id"])
    op.create_index(op.f("ix_feeder_meters_meter_id"), "feeder_meters", ["meter_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_feeder_meters_meter_id"), table_name="feeder_meters")
    op.drop_index(op.f("ix_feeder_meters_feeder_id"), table_name="feeder_meters")
    op.drop_table("feeder_meters")
    op.drop_index(op.f("ix_meter_multiplier_changes_meter_id"), table_name="meter_multiplier_changes")
    op.drop_table("meter_multiplier_changes")
    op.drop_index(op.f("ix_meter_replacements_replaced_at"), table_name="meter_replacements")
    op.drop_index(op.f("ix_meter_replacements_point_code"), table_name="meter_replacements")
    op.drop_index(op.f("ix_meter_replacements_old_meter_id"), table_name="meter_replacements")
    op.drop_index(op.f("ix_meter_replacements_new_meter_id"), table_name="meter_replacements")
    op.drop_table("meter_replacements")
    op.drop_index("ix_meter_asset_events_meter_recorded", table_name="meter_asset_events")
    op.drop_table("meter_asset_events")
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_column("last_verified_on")
