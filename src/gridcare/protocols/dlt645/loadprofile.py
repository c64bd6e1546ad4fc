"""DL/T 645-2007 load-profile records (负荷记录, identifiers 06 0k 00 00..02, table A.7).

Request data after the identifier: 06 .. 00 00 / 06 .. 00 02 add NN (number of blocks, 1 BCD byte);
06 .. 00 01 ("given time") adds NN and the start time mmhhDDMMYY (5 bytes).

A reply carries NN records, each::

    A0 A0 | n | YYMMDDhhmm | class 1 | AA | class 2 | AA | ... | class 6 | AA | CS | E5

- A0 A0 is the start code (E0 E0: the meter marks the record as bad; decoded with a warning);
- n counts the bytes from the record time through the last separator AAH;
- a class configured off in the meter's load-record mode word is empty (its AAH separator remains);
  class 1: voltage A/B/C (XXX.X V), current A/B/C (XXX.XXX A), frequency (XX.XX Hz) - 17 bytes;
  class 2: active power total/A/B/C (XX.XXXX kW), reactive power total/A/B/C (kvar) - 24 bytes;
  class 3: power factor total/A/B/C (X.XXX) - 8 bytes;
  class 4: forward/reverse active total (kWh), combined reactive 1/2 total (kvarh) - 16 bytes;
  class 5: quadrant I..IV reactive totals (kvarh) - 16 bytes;
  class 6: current active (kW) / reactive (kvar) demand (XX.XXXX) - 6 bytes;
- CS is the sum mod 256 of the record bytes from the first A0H through the last AAH; E5H ends it.

Decoded values, per record: "record_time" then the fields of each class present, in class order.
Parts after the last present class may be left out by a meter (n tells where the record ends); the
encoder always writes all six separators.
"""

from __future__ import annotations

from gridcare.protocols.dlt645.datablock import SPECIAL_DECODERS, SPECIAL_ENCODERS, DataSpec
from gridcare.protocols.dlt645.model import Value
from gridcare.protocols.dlt645.values import Field, decode_fields, encode_fields, number, when
from gridcare.protocols.errors import BadChecksum, BadField, BadLength

START = b"\xa0\xa0"
BAD_START = b"\xe0\xe0"
SEPARATOR = 0xAA
END = 0xE5
RECORD_TIME = when("record_time", "YYMMDDhhmm", "负荷记录存储时间")


def _phases(base: str, zh: str, fmt: str, unit: str, signed: bool, total: bool) -> tuple[Field, ...]:
    names = [("total", "总")] if total else []
    names += [("a", "A相"), ("b", "B相"), ("c", "C相")]
    return tuple(number(f"{base}_{s}", fmt, unit, signed, f"{p}{zh}") for s, p in names)


CLASSES: tuple[tuple[Field, ...], ...] = (
    (
        *_phases("voltage", "电压", "XXX.X", "V", False, False),
        *_phases("current", "电流", "XXX.XXX", "A", True, False),
        number("frequency", "XX.XX", "Hz", False, "频率"),
    ),
    (
        *_phases("active_power", "有功功率", "XX.XXXX", "kW", True, True),
        *_phases("reactive_power", "无功功率", "XX.XXXX", "kvar", True, True),
    ),
    _phases("power_factor", "功率因数", "X.XXX", "", True, True),
    (
        number("forward_active_total", "XXXXXX.XX", "kWh", False, "正向有功总电能"),
        number("reverse_active_total", "XXXXXX.XX", "kWh", False, "反向有功总电能"),
        number("combined_reactive_1_total", "XXXXXX.XX", "kvarh", True, "组合无功1总电能"),
        number("combined_reactive_2_total", "XXXXXX.XX", "kvarh", True, "组合无功2总电能"),
    ),
    tuple(
        number(f"q{k}_reactive_total", "XXXXXX.XX", "kvarh", False, f"第{k}象限无功总电能")
        for k in range(1, 5)
    ),
    (
        number("active_demand_current", "XX.XXXX", "kW", True, "当前有功需量"),
        number("reactive_demand_current", "XX.XXXX", "kvar", True, "当前无功需量"),
    ),
)
CLASS_SIZES = tuple(sum(f.length for f in c) for c in CLASSES)


def _decode_record(data: bytes, pos: int, offset: int, warnings: list[str]) -> tuple[list[Value], int]:
    """Decode the record starting at ``data[pos]``; returns its values and the position after it."""
    if len(data) - pos < 3:
        raise BadLength("load record header needs 3 bytes", offset + pos)
    code = data[pos : pos + 2]
    if code == BAD_START:
        warnings.append(f"load record at byte {offset + pos} is marked bad by the meter (start code E0E0)")
    elif code != START:
        raise BadField(f"load record start code {code.hex().upper()}, expected A0A0", offset + pos)
    count = data[pos + 2]
    body_start = pos + 3
    body_end = body_start + count
    if len(data) < body_end + 2:
        raise BadLength(f"load record says {count} bytes, data ends", offset + len(data))
    if count < RECORD_TIME.length:
        raise BadLength(f"load record of {count} bytes has no room for its time", offset + pos + 2)
    values = decode_fields((RECORD_TIME,), data[body_start : body_start + 5], offset + body_start)
    cur = body_start + 5
    for fields, size in zip(CLASSES, CLASS_SIZES, strict=True):
        if cur == body_end:
            break
        if data[cur] == SEPARATOR:
            cur += 1
            continue
        if cur + size >= body_end:
            raise BadLength("load record class data runs past the record length", offset + cur)
        values += decode_fields(fields, data[cur : cur + size], offset + cur)
        cur += size
        if data[cur] != SEPARATOR:
            raise BadField(f"expected block separator AAH, found {data[cur]:02X}", offset + cur)
        cur += 1
    if cur != body_end:
        raise BadLength(f"load record has {body_end - cur} byte(s) after its six classes", offset + cur)
    expected = sum(data[pos:body_end]) & 0xFF
    if data[body_end] != expected:
        raise BadChecksum(
            f"load record checksum {data[body_end]:02X}, computed {expected:02X}", offset + body_end
        )
    if data[body_end + 1] != END:
        raise BadField(f"load record end code {data[body_end + 1]:02X}, expected E5", offset + body_end + 1)
    return values, body_end + 2


def decode_load_profile(spec: DataSpec, data: bytes, offset: int) -> tuple[list[Value], list[str]]:
    """Decode one or more load records (a reply's data after the identifier)."""
    values: list[Value] = []
    warnings: list[str] = []
    pos = 0
    if not data:
        raise BadLength(f"{spec.di}: no load record", offset)
    while pos < len(data):
        record, pos = _decode_record(data, pos, offset, warnings)
        values += record
    return values, warnings


def encode_load_profile(spec: DataSpec, values: list[Value]) -> bytes:
    """Encode records from values named as :func:`decode_load_profile` names them."""
    out = bytearray()
    i = 0
    if not values:
        raise BadField(f"{spec.di}: at least one load record is needed")
    while i < len(values):
        if values[i].name != RECORD_TIME.name:
            raise BadField(f"a load record starts with 'record_time', got {values[i].name!r}")
        body = bytearray(encode_fields((RECORD_TIME,), values[i : i + 1]))
        i += 1
        for fields in CLASSES:
            if i < len(values) and values[i].name == fields[0].name:
                body += encode_fields(fields, values[i : i + len(fields)])
                i += len(fields)
            body.append(SEPARATOR)
        record = START + bytes([len(body)]) + bytes(body)
        out += record + bytes([sum(record) & 0xFF, END])
    return bytes(out)


SPECIAL_DECODERS["load_profile"] = decode_load_profile
SPECIAL_ENCODERS["load_profile"] = encode_load_profile
