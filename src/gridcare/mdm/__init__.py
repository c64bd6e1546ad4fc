"""Meter data management: validation, estimation and editing (VEE), 台区 line loss, meter changes.

Pure, columnar code: pyarrow Tables in, pyarrow Tables out, numpy inside; no file, database or network
I/O (the storage room reads and writes the Parquet readings lake with the same columns).

Reading layout (readings lake and every function here)
------------------------------------------------------
One row per (meter, di, freeze_time, version) — a daily frozen register reading:

============ ========================= =================================================================
column       Arrow type                meaning
============ ========================= =================================================================
meter        string                    meter address, 12 decimal digits ("201000000012")
di           string                    data item: ``DI_FWD_ACTIVE`` "05060101" (forward active total),
                                       ``DI_REV_ACTIVE`` "05060201", tariffs ``DI_FWD_ACTIVE_TARIFFS``
                                       "05060101.1".."05060101.4" (T1..T4 = 尖峰平谷)
freeze_time  timestamp[us, Asia/Sh.]   freeze instant, 00:00 Beijing time (microseconds: the unit DuckDB
                                       and Spark use). The energy of business day d is closed by the
                                       freeze of d + 1
value        float64                   register value [kWh], secondary side (before the multiplier);
                                       null = the meter answered without a value
version      int32                     1 for the first row of a key; each edit/estimate takes max + 1
source       string                    "actual" | "estimated" | "edited"
method       string (nullable)         estimation method or "manual_edit"; null for actuals
recorded_at  timestamp (nullable)      when this version became available
who, why     string (nullable)         author and reason of an edit or estimate
============ ========================= =================================================================

Only the first six are required on input; Parquet dictionary-encoded strings and decimal values are
accepted. Naive timestamps are read as Beijing time.

Why float64 for ``value``: registers carry 2 decimals and at most 8 significant digits (999999.99), far
inside float64's 15-16, so every register is represented to better than 1e-9 kWh, and the vectorised
arithmetic (diffs, sums, medians over millions of rows) stays in numpy, DuckDB DOUBLE and Spark DOUBLE.
Every register and register advance is rounded to 0.01 kWh (``round_register``) before it is compared or
stored, so equality tests (flat lines, duplicates, tariff sums) are exact at the register resolution.
Money is not energy: bills convert energy to Decimal at the bill line (billing room).

Meter archive (``METERS_SCHEMA``), joined in by position (:class:`Fleet`): meter, multiplier (CT x PT),
customer_class, capacity_kva, forward_only, tg (台区 code), role ("customer" | "supply" = 台区总表 |
"feeder" = 线路关口表), rollover_kwh (default 999999.99), feeder, org, terminal, tg_kind ("public" 公变 |
"dedicated" 专变; a 专变 is not a 台区 line-loss object, see :mod:`gridcare.mdm.lineloss`).

Versions: nothing is overwritten. :func:`latest_valid` picks per key an actual/edited row over any estimate,
then the highest version (so an edit, made as version max + 1, corrects an actual); conflicting ties are
left out and flagged by VEE. :func:`latest_valid_sql` is the same rule as engine-neutral SQL for the lake
(DuckDB, Spark SQL).

Lake hint: partition by freeze day and sort by meter inside a partition; readings in that order take the
fast (binary-search) path of the meter lookup and of the grid scatter.

Pipeline
--------
``build_grid(readings, meters, first_freeze, last_freeze)`` -> :class:`RegisterGrid` (dense
``[meters x freezes]``), then ``run_vee(grid, start, end)`` -> flags table, ``estimate_gaps(grid, when=...)``
-> new estimated rows, ``daily_energy(grid)`` -> :class:`DailyEnergy` -> ``daily_line_loss``,
``monthly_line_loss``, ``sold_vs_purchased``, ``loss_cause_hints``.
"""

from gridcare.mdm.estimation import EstimationConfig, estimate_gaps, profile_weights
from gridcare.mdm.fleet import Fleet
from gridcare.mdm.grid import RegisterGrid, Registers, build_grid
from gridcare.mdm.lineloss import (
    LineLossConfig,
    abnormal_tgs,
    daily_line_loss,
    monthly_energy,
    monthly_line_loss,
    sold_vs_purchased,
)
from gridcare.mdm.loss_hints import HintConfig, loss_cause_hints, pairwise_pearson
from gridcare.mdm.meter_change import apply_meter_changes, meter_change_energy
from gridcare.mdm.registers import Advances, DailyEnergy, daily_energy, register_advances
from gridcare.mdm.schema import (
    DI_FWD_ACTIVE,
    DI_FWD_ACTIVE_TARIFFS,
    DI_REV_ACTIVE,
    METERS_SCHEMA,
    READINGS_SCHEMA,
    SOURCE_ACTUAL,
    SOURCE_EDITED,
    SOURCE_ESTIMATED,
    VEE_RESULT_SCHEMA,
    MdmInputError,
)
from gridcare.mdm.vee import run_vee, validate_readings
from gridcare.mdm.vee_config import RULES, Rule, VeeConfig
from gridcare.mdm.versions import (
    append_rows,
    apply_edit,
    latest_valid,
    latest_valid_sql,
    next_version,
    reading_history,
)

__all__ = [
    "DI_FWD_ACTIVE",
    "DI_FWD_ACTIVE_TARIFFS",
    "DI_REV_ACTIVE",
    "METERS_SCHEMA",
    "READINGS_SCHEMA",
    "RULES",
    "SOURCE_ACTUAL",
    "SOURCE_EDITED",
    "SOURCE_ESTIMATED",
    "VEE_RESULT_SCHEMA",
    "Advances",
    "DailyEnergy",
    "EstimationConfig",
    "Fleet",
    "HintConfig",
    "LineLossConfig",
    "MdmInputError",
    "RegisterGrid",
    "Registers",
    "Rule",
    "VeeConfig",
    "abnormal_tgs",
    "append_rows",
    "apply_edit",
    "apply_meter_changes",
    "build_grid",
    "daily_energy",
    "daily_line_loss",
    "estimate_gaps",
    "latest_valid",
    "latest_valid_sql",
    "loss_cause_hints",
    "meter_change_energy",
    "monthly_energy",
    "monthly_line_loss",
    "next_version",
    "pairwise_pearson",
    "profile_weights",
    "reading_history",
    "register_advances",
    "run_vee",
    "sold_vs_purchased",
    "validate_readings",
]
