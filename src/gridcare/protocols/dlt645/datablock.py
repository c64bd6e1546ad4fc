"""Data specifications (what a data identifier carries) and the decoding/encoding of a data field by them.

A :class:`DataSpec` lists the items behind one data identifier as groups of :class:`Field`. A *variable*
spec (the FFH blocks: total and tariffs 1..M, or current and settlement days 1..12) may carry any whole
number of its leading groups, because M depends on the meter; a fixed spec must be complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gridcare.protocols.dlt645.model import Value
from gridcare.protocols.dlt645.values import Field, decode_fields, encode_fields
from gridcare.protocols.errors import BadField, BadLength

# Codecs for data that is not a plain sequence of fields (load-profile records), keyed by DataSpec.special.
SpecialDecoder = Callable[["DataSpec", bytes, int], tuple[list[Value], list[str]]]
SpecialEncoder = Callable[["DataSpec", list[Value]], bytes]
SPECIAL_DECODERS: dict[str, SpecialDecoder] = {}
SPECIAL_ENCODERS: dict[str, SpecialEncoder] = {}


@dataclass(frozen=True)
class DataSpec:
    """What one data identifier carries.

    ``di``: identifier in display order ("0001FF00"); ``name_zh``/``name_en``: its names;
    ``groups``: item groups in wire order; ``variable``: a reply may stop after any whole group (>= 1);
    ``special``: name of a special codec (e.g. "load_profile") instead of ``groups``.
    """

    di: str
    name_zh: str
    name_en: str
    groups: tuple[tuple[Field, ...], ...]
    variable: bool = False
    special: str | None = None

    @property
    def fields(self) -> tuple[Field, ...]:
        """All fields of all groups, in wire order."""
        return tuple(f for g in self.groups for f in g)

    @property
    def length(self) -> int:
        """Byte length of the complete data (all groups)."""
        return sum(f.length for f in self.fields)


def single(di: str, name_zh: str, name_en: str, *fields: Field) -> DataSpec:
    """A fixed spec of one group."""
    return DataSpec(di, name_zh, name_en, (tuple(fields),))


def decode_data(spec: DataSpec, data: bytes, offset: int) -> tuple[list[Value], list[str]]:
    """Decode a data field (after the identifier) by ``spec``; returns values and warnings."""
    if spec.special is not None:
        return SPECIAL_DECODERS[spec.special](spec, data, offset)
    if not spec.variable:
        if len(data) != spec.length:
            raise BadLength(
                f"{spec.di} ({spec.name_en}) carries {spec.length} bytes, got {len(data)}", offset
            )
        return decode_fields(spec.fields, data, offset), []
    values: list[Value] = []
    pos = 0
    for group in spec.groups:
        if pos == len(data):
            break
        size = sum(f.length for f in group)
        if len(data) - pos < size:
            raise BadLength(
                f"{spec.di} ({spec.name_en}): {len(data) - pos} byte(s) left, an item needs {size}",
                offset + pos,
            )
        values += decode_fields(group, data[pos : pos + size], offset + pos)
        pos += size
    if pos == 0:
        raise BadLength(f"{spec.di} ({spec.name_en}) carries no data", offset)
    if pos != len(data):
        raise BadLength(
            f"{spec.di} ({spec.name_en}) has {len(data) - pos} byte(s) more than its items", offset + pos
        )
    return values, []


def encode_data(spec: DataSpec, values: Sequence[Value]) -> bytes:
    """Encode ``values`` (in decode order and with decode's names) for ``spec``."""
    vals = list(values)
    if spec.special is not None:
        return SPECIAL_ENCODERS[spec.special](spec, vals)
    if not spec.variable:
        return encode_fields(spec.fields, vals)
    out = bytearray()
    pos = 0
    for group in spec.groups:
        if pos == len(vals):
            break
        out += encode_fields(group, vals[pos : pos + len(group)])
        pos += len(group)
    if pos == 0:
        raise BadField(f"{spec.di} ({spec.name_en}) needs at least one item")
    if pos != len(vals):
        raise BadField(f"{spec.di} ({spec.name_en}) has at most {pos} values, got {len(vals)}")
    return bytes(out)


def raw_values(data: bytes) -> list[Value]:
    """Data of an unknown identifier, kept as one hex value (wire order)."""
    return [Value("raw", data.hex().upper(), "")]


def encode_raw(values: Sequence[Value]) -> bytes:
    """Inverse of :func:`raw_values`."""
    if len(values) != 1 or values[0].name != "raw" or not isinstance(values[0].value, str):
        raise BadField("an unknown data identifier takes exactly one value named 'raw' holding hex text")
    try:
        return bytes.fromhex(values[0].value)
    except ValueError as exc:
        raise BadField(f"raw value {values[0].value!r} is not hex text") from exc
