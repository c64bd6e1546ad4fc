"""billing room: tariffs as data and the pure bill calculation (抄核收 核算).

Public API::

    quote(request: QuoteRequest) -> QuoteResponse       # price one billing cycle, pure
    compute(request) -> (QuoteResponse, QuoteWorking)    # the same plus its determinants
    power_factor(active_kwh, reactive_kvarh) -> Decimal | None
    pf_adjustment_pct(standard, pf) -> Decimal           # 《功率因数调整电费办法》 tables
    penalty(request: PenaltyRequest) -> PenaltyResponse  # 电费违约金
    parse_model(Model, json_text) -> Model               # exact-decimal JSON in, BillingInputError out
    dumps(value) -> str                                  # JSON out with exact decimal digits

Nothing here does I/O; runs, ledgers and storage build on these types.
"""

from gridcare.billing.engine import QuoteWorking, compute, quote
from gridcare.billing.errors import BillingInputError, FieldError
from gridcare.billing.jsonio import dumps, loads, parse_model, validate_model
from gridcare.billing.penalty import PenaltyRequest, PenaltyResponse, penalty, penalty_json
from gridcare.billing.pf import PF_STANDARDS, pf_adjustment_pct, power_factor
from gridcare.billing.request import (
    BillingCycle,
    MeterRun,
    QuoteRequest,
    SubUsage,
    Supply,
    Suspension,
    TariffChange,
    Transformer,
    Usage,
)
from gridcare.billing.response import QuoteLine, QuoteResponse
from gridcare.billing.tariff import CustomerClass, EnergyPrice, Period, Tariff, TierSchedule, TouSeason

__all__ = [
    "PF_STANDARDS",
    "BillingCycle",
    "BillingInputError",
    "CustomerClass",
    "EnergyPrice",
    "FieldError",
    "MeterRun",
    "PenaltyRequest",
    "PenaltyResponse",
    "Period",
    "QuoteLine",
    "QuoteRequest",
    "QuoteResponse",
    "QuoteWorking",
    "SubUsage",
    "Supply",
    "Suspension",
    "Tariff",
    "TariffChange",
    "TierSchedule",
    "TouSeason",
    "Transformer",
    "Usage",
    "compute",
    "dumps",
    "loads",
    "parse_model",
    "penalty",
    "penalty_json",
    "pf_adjustment_pct",
    "power_factor",
    "quote",
    "validate_model",
]
