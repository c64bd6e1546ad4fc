"""The meter archive as aligned numpy arrays (one position per meter), and meter-address lookup."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gridcare.mdm.schema import (
    DEFAULT_ROLLOVER_KWH,
    ROLE_CUSTOMER,
    ROLES,
    TG_DEDICATED,
    TG_KINDS,
    MdmInputError,
    floats,
    plain,
    require_columns,
)


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes (-1 for null or empty text) and the distinct labels."""
    enc = pc.dictionary_encode(plain(column)).combine_chunks()
    labels = [str(v) for v in enc.dictionary.to_pylist()]
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    if "" in labels:
        idx = np.where(idx == labels.index(""), -1, idx).astype(np.int32)
    return idx, labels


def meter_keys(column: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """12-digit meter addresses as int64, or None if some address is not plain digits."""
    col = plain(column)
    try:
        keys = pc.cast(col, pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if col.null_count:
        return None
    return np.asarray(keys, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Fleet:
    """Meter archive aligned by position, sorted by meter address.

    Attributes are numpy arrays of length ``n``: ``multiplier`` (CT x PT ratio), ``capacity_kva`` (NaN when
    unknown), ``forward_only``, ``rollover_kwh`` (largest register value before it wraps), ``role`` (index
    into :data:`~gridcare.mdm.schema.ROLES`), and dictionary codes (-1 = none) for ``customer_class``, ``tg``
    (台区), ``feeder``, ``org`` and ``terminal`` with their label lists. ``tg_dedicated`` (one per label of
    ``tgs``) marks the 专变: 台区 whose meters' ``tg_kind`` is "dedicated".
    """

    table: pa.Table
    keys: np.ndarray
    multiplier: np.ndarray
    capacity_kva: np.ndarray
    forward_only: np.ndarray
    rollover_kwh: np.ndarray
    role: np.ndarray
    class_idx: np.ndarray
    classes: list[str]
    tg_idx: np.ndarray
    tgs: list[str]
    feeder_idx: np.ndarray
    feeders: list[str]
    org_idx: np.ndarray
    orgs: list[str]
    terminal_idx: np.ndarray
    terminals: list[str]
    tg_dedicated: np.ndarray

    @property
    def n(self) -> int:
        return int(self.keys.shape[0])

    @property
    def meters(self) -> pa.Array:
        """Meter addresses in fleet order."""
        return self.table.column("meter").combine_chunks()

    @classmethod
    def from_table(cls, meters: pa.Table) -> Fleet:
        """Build from an archive table (columns of :data:`~gridcare.mdm.schema.METERS_SCHEMA`).

        Raises MdmInputError for a missing ``meter`` column, addresses that are not 12 digits, duplicate
        addresses, unknown roles or 台区 kinds, or multipliers / rollover limits that are not positive.
        """
        require_columns(meters, ["meter"], "meters")
        col = plain(meters.column("meter"))
        if meters.num_rows:
            lengths = pc.min_max(pc.utf8_length(col)).as_py()
            digits = pc.all(pc.utf8_is_digit(col)).as_py()
            if col.null_count or lengths["min"] != 12 or lengths["max"] != 12 or not digits:
                raise MdmInputError("meters.meter: every address must be 12 decimal digits")
        keys = meter_keys(col) if meters.num_rows else np.zeros(0, np.int64)
        assert keys is not None
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        if keys.size > 1 and np.any(keys[1:] == keys[:-1]):
            dup = int(keys[1:][keys[1:] == keys[:-1]][0])
            raise MdmInputError(f"meters.meter: duplicate address {dup:012d}")
        table = meters.take(pa.array(order))
        n = table.num_rows

        def num(name: str, default: float) -> np.ndarray:
            if name not in table.column_names:
                return np.full(n, default)
            x = floats(table.column(name), f"meters.{name}")
            return np.where(np.isnan(x), default, x)

        multiplier = num("multiplier", 1.0)
        if np.any(multiplier <= 0):
            raise MdmInputError("meters.multiplier: must be positive")
        rollover = num("rollover_kwh", DEFAULT_ROLLOVER_KWH)
        if np.any(rollover <= 0):
            raise MdmInputError("meters.rollover_kwh: must be positive")
        capacity = num("capacity_kva", np.nan)
        if "forward_only" in table.column_names:
            fwd = table.column("forward_only").fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
        else:
            fwd = np.zeros(n, bool)
        if "role" in table.column_names:
            ridx, rlabels = _codes(table.column("role"))
            unknown = sorted(set(rlabels) - set(ROLES))
            if unknown:
                raise MdmInputError(f"meters.role: unknown role(s) {unknown}; expected one of {list(ROLES)}")
            lut = np.array([ROLES.index(r) for r in rlabels] + [ROLES.index(ROLE_CUSTOMER)], dtype=np.int8)
            role = lut[np.where(ridx < 0, len(rlabels), ridx)]
        else:
            role = np.zeros(n, np.int8)

        def codes(name: str) -> tuple[np.ndarray, list[str]]:
            if name not in table.column_names:
                return np.full(n, -1, np.int32), []
            return _codes(table.column(name))

        class_idx, classes = codes("customer_class")
        tg_idx, tgs = codes("tg")
        feeder_idx, feeders = codes("feeder")
        org_idx, orgs = codes("org")
        terminal_idx, terminals = codes("terminal")
        tg_dedicated = np.zeros(len(tgs), bool)
        if "tg_kind" in table.column_names:
            kidx, klabels = _codes(table.column("tg_kind"))
            unknown = sorted(set(klabels) - set(TG_KINDS))
            if unknown:
                raise MdmInputError(
                    f"meters.tg_kind: unknown kind(s) {unknown}; expected one of {list(TG_KINDS)}"
                )
            if TG_DEDICATED in klabels:
                ded = (kidx == klabels.index(TG_DEDICATED)) & (tg_idx >= 0)
                tg_dedicated[tg_idx[ded]] = True
        return cls(
            table=table,
            keys=keys,
            multiplier=multiplier,
            capacity_kva=capacity,
            forward_only=fwd,
            rollover_kwh=rollover,
            role=role,
            class_idx=class_idx,
            classes=classes,
            tg_idx=tg_idx,
            tgs=tgs,
            feeder_idx=feeder_idx,
            feeders=feeders,
            org_idx=org_idx,
            orgs=orgs,
            terminal_idx=terminal_idx,
            terminals=terminals,
            tg_dedicated=tg_dedicated,
        )

    def lookup(self, column: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Fleet position of each address in ``column`` (-1 when it is not in the archive)."""
        n_rows = len(column)
        if n_rows == 0 or self.n == 0:
            return np.full(n_rows, -1, np.int64)
        keys = meter_keys(column)
        if keys is None:  # malformed addresses: exact text lookup (hash), they simply do not match
            pos = pc.index_in(plain(column), value_set=self.meters)
            return np.asarray(pos.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        descents = np.count_nonzero(keys[1:] < keys[:-1]) if n_rows > 1 else 0
        if descents > n_rows // 64:  # scattered order: hashing beats cache-missing binary search
            pos = pc.index_in(plain(column), value_set=self.meters)
            found = np.asarray(pos.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        else:
            found = np.searchsorted(self.keys, keys)
            np.minimum(found, self.n - 1, out=found)
            found = np.where(self.keys[found] == keys, found, -1)
        lengths = pc.utf8_length(plain(column))
        if pc.min_max(lengths).as_py() != {"min": 12, "max": 12}:
            found = np.where(lengths.to_numpy(zero_copy_only=False) == 12, found, -1)
        return found

    def position(self, meter: str) -> int:
        """Fleet position of one address; MdmInputError when absent."""
        pos = int(self.lookup(pa.array([meter]))[0])
        if pos < 0:
            raise MdmInputError(f"meter: {meter!r} is not in the meter archive")
        return pos
