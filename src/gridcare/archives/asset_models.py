"""Metering-asset tables (计量资产): the history of each meter's life and of the changes made to it.

* ``meter_asset_events``: one row per lifecycle transition, replacement, multiplier change or verification,
  with who, when (``recorded_at``), the business date it took effect (``effective_on``) and why. Rows are
  only ever added.
* ``meter_replacements`` (换表): the old meter's final and the new meter's initial register readings at the
  instant of the change, the metering point closed and the one opened (or, for a feeder head meter, the
  ``feeder_meters`` row closed and the one opened, migration ``0010``), and both multipliers, so energy
  across the change can be computed continuously (:func:`gridcare.mdm.meter_change.meter_change_energy`).
* ``meter_multiplier_changes``: CT/PT ratio changes with the date from which they apply (00:00 Beijing time
  of ``effective_from``); energy before that date uses the old multiplier.
* ``feeder_meters``: feeder head (gateway) meters (线路关口表) that measure the energy a feeder takes from its
  substation, with effective dates; the purchased side of the sold-vs-purchased check. ``terminal_id`` and
  ``point_number`` say which terminal reads it at which measuring point (Pn), as for a metering point
  (migration ``0008``; None: not read by the master station).

The last verification date of a meter is :attr:`gridcare.archives.models.Meter.last_verified_on`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridcare.storage.base import Base

EVENT_KINDS = ("transition", "replacement", "multiplier_change", "verification")


class MeterAssetEvent(Base):
    """One entry in a meter's asset history."""

    __tablename__ = "meter_asset_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('transition', 'replacement', 'multiplier_change', 'verification')", name="kind"
        ),
        Index("ix_meter_asset_events_meter_recorded", "meter_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    effective_on: Mapped[date] = mapped_column(Date, doc="business date (Beijing) the change took effect")
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    who: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="{}", doc="JSON: readings, ratios, point codes ...")


REPLACEMENT_ON_ONE_KIND = (
    "(old_point_id IS NOT NULL AND new_point_id IS NOT NULL"
    " AND old_feeder_meter_id IS NULL AND new_feeder_meter_id IS NULL)"
    " OR (old_point_id IS NULL AND new_point_id IS NULL"
    " AND old_feeder_meter_id IS NOT NULL AND new_feeder_meter_id IS NOT NULL)"
)
"""A replacement is on a metering point (both point ids) or on a feeder head (both feeder_meters ids)."""


class MeterReplacement(Base):
    """换表: the old meter removed and the new one installed at ``replaced_at`` on the same metering point
    (``old_point_id`` / ``new_point_id``; ``point_code`` its code) or, for a feeder head meter (线路关口表),
    at the head of the same feeder (``old_feeder_meter_id`` / ``new_feeder_meter_id``, the ``feeder_meters``
    rows closed and opened; ``point_code`` then holds the feeder's code). Exactly one kind is set."""

    __tablename__ = "meter_replacements"
    __table_args__ = (
        CheckConstraint("old_final_kwh >= 0 AND new_initial_kwh >= 0", name="readings_not_negative"),
        CheckConstraint("old_multiplier > 0 AND new_multiplier > 0", name="multipliers_positive"),
        CheckConstraint("old_meter_id <> new_meter_id", name="different_meters"),
        CheckConstraint(REPLACEMENT_ON_ONE_KIND, name="point_or_feeder_meter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    point_code: Mapped[str] = mapped_column(
        String(32), index=True, doc="the metering point's code, or the feeder's code for a head meter"
    )
    old_point_id: Mapped[int | None] = mapped_column(ForeignKey("metering_points.id"))
    new_point_id: Mapped[int | None] = mapped_column(ForeignKey("metering_points.id"), unique=True)
    old_feeder_meter_id: Mapped[int | None] = mapped_column(ForeignKey("feeder_meters.id"))
    new_feeder_meter_id: Mapped[int | None] = mapped_column(ForeignKey("feeder_meters.id"), unique=True)
    old_meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    new_meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    old_final_kwh: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), doc="old meter's forward active total register when removed [register kWh]"
    )
    new_initial_kwh: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), doc="new meter's forward active total register when installed [register kWh]"
    )
    old_multiplier: Mapped[int] = mapped_column(Integer)
    new_multiplier: Mapped[int] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MeterMultiplierChange(Base):
    """A CT/PT change: from 00:00 of ``effective_from`` the meter's energy is advance x ``new_multiplier``."""

    __tablename__ = "meter_multiplier_changes"
    __table_args__ = (
        UniqueConstraint("meter_id", "effective_from", name="uq_meter_multiplier_changes_meter_effective"),
        CheckConstraint("old_multiplier > 0 AND new_multiplier > 0", name="multipliers_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    old_ct_ratio: Mapped[str] = mapped_column(String(16))
    old_pt_ratio: Mapped[str] = mapped_column(String(16))
    old_multiplier: Mapped[int] = mapped_column(Integer)
    new_ct_ratio: Mapped[str] = mapped_column(String(16))
    new_pt_ratio: Mapped[str] = mapped_column(String(16))
    new_multiplier: Mapped[int] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeederMeter(Base):
    """线路关口表: a meter at the head of a feeder (``valid_from`` inclusive, ``valid_to`` exclusive), read by
    terminal ``terminal_id`` at measuring point ``point_number`` (关口计量点) when both are set."""

    __tablename__ = "feeder_meters"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        UniqueConstraint("feeder_id", "meter_id", "valid_from", name="uq_feeder_meters_feeder_meter_from"),
        CheckConstraint(
            "point_number IS NULL OR (point_number >= 1 AND point_number <= 2040)", name="point_number_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feeder_id: Mapped[int] = mapped_column(ForeignKey("feeders.id"), index=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    terminal_id: Mapped[int | None] = mapped_column(
        ForeignKey("terminals.id"), index=True, doc="the terminal that reads the meter (None: none)"
    )
    point_number: Mapped[int | None] = mapped_column(
        Integer, doc="measuring point number Pn (1..2040) of the meter in that terminal"
    )
