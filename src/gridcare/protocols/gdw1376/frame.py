"""The Q/GDW 1376.1 frame: 68 L L 68 | C A AFN SEQ data-units [PW | EC] [Tp] | CS 16.

* L (2 bytes, little endian, sent twice) = user-data length << 2 | protocol id (2 = 1376.1-2013; 1 =
  Q/GDW 130-2005, accepted with a warning). User data is C through the last auxiliary byte.
* CS = sum of the user-data bytes mod 256.
* C: DIR D7 (0 down, 1 up), PRM D6 (1 from the initiating station), FCB (down) / ACD (up) D5, FCV D4,
  function code D3..D0.
* A: A1 area code (2 bytes BCD, low byte first, shown "0171"), A2 terminal number (2 bytes binary, little
  endian), A3 master station address D7..D1 and group-address flag D0.
* SEQ: TpV D7, FIR D6, FIN D5, CON D4, PSEQ/RSEQ D3..D0.
* Auxiliary fields: PW (16 bytes) in downlink AFN 01/04/05/06/0F/10; EC (EC1, EC2) in uplink frames with
  ACD = 1; Tp (PFC, ss mm hh DD in BCD, allowed delay [min]) when TpV = 1.
"""

from __future__ import annotations

from gridcare.protocols.bcd import bcd_to_int, is_bcd_byte
from gridcare.protocols.errors import (
    BadChecksum,
    BadField,
    BadLength,
    BadStartByte,
    FrameError,
    TruncatedFrame,
)
from gridcare.protocols.gdw1376.model import (
    AFN_CLASS1,
    DOWN,
    EC_LEN,
    END,
    HEADER_LEN,
    MAX_USER_DATA,
    MIN_USER_DATA,
    PRM0_FUNCTIONS,
    PRM1_FUNCTIONS,
    PROTOCOL_ID_2005,
    PROTOCOL_ID_2013,
    PW_LEN,
    START,
    TP_LEN,
    Address,
    Control,
    DataUnit,
    Gdw1376Frame,
    Seq,
    Tp,
    UnitItem,
    needs_pw,
)
from gridcare.protocols.gdw1376.reader import Reader
from gridcare.protocols.gdw1376.registry import lookup
from gridcare.protocols.gdw1376.units import decode_da, decode_dt, encode_da, encode_dt, pairs

DATA_START = HEADER_LEN + 8  # first byte after SEQ
SINGLE_FRAME_AFNS = frozenset({0x00, 0x02})

_new = object.__new__
_set = object.__setattr__

# Control and Seq are immutable and take only 256 values each: decode them by table.
_CONTROLS = tuple(Control.from_byte(c) for c in range(256))
_SEQS = tuple(Seq.from_byte(b) for b in range(256))

# DA and DT decodings by (byte 1 | byte 2 << 8), filled on first use (only those that decode).
_DA: dict[int, tuple[tuple[int, ...], bool]] = {}
_DT: dict[int, tuple[int, ...]] = {}


def checksum(user_data: bytes) -> int:
    """CS: the arithmetic sum of the user-data bytes mod 256."""
    return sum(user_data) & 0xFF


def frame_length(buf: bytes, start: int = 0) -> int | None:
    """Total length of the frame whose 68H is at ``buf[start]``; None while the 6-byte header is incomplete.

    Raises BadStartByte, BadLength or BadField when no 1376.1 frame can start at ``start``.
    """
    n = len(buf) - start
    if n <= 0:
        return None
    if buf[start] != START:
        raise BadStartByte(f"expected 68H, got {buf[start]:02X}H", start)
    if n >= 3:
        l1 = buf[start + 1] | buf[start + 2] << 8
        _check_l(l1, start + 1)
        if n >= 5 and buf[start + 3 : start + 5] != buf[start + 1 : start + 3]:
            second, first = buf[start + 3 : start + 5].hex(), buf[start + 1 : start + 3].hex()
            raise BadLength(f"length field {second} differs from {first}", start + 3)
    if n < HEADER_LEN:
        return None
    if buf[start + 5] != START:
        raise BadStartByte(f"expected the second 68H, got {buf[start + 5]:02X}H", start + 5)
    return HEADER_LEN + (l1 >> 2) + 2


def _check_l(l_field: int, position: int) -> None:
    proto = l_field & 0x03
    if proto not in (PROTOCOL_ID_2013, PROTOCOL_ID_2005):
        raise BadField(
            f"protocol id {proto} in the length field is neither 2 (1376.1) nor 1 (130-2005)", position
        )
    if l_field >> 2 < MIN_USER_DATA:
        raise BadLength(f"user-data length {l_field >> 2} is below the minimum {MIN_USER_DATA}", position)


# --- header fields -------------------------------------------------------------------------------------


def decode_address(raw: bytes, warnings: list[str]) -> Address:
    area = raw[1::-1].hex().upper()
    if not (is_bcd_byte(raw[0]) and is_bcd_byte(raw[1])):
        warnings.append(f"area code {area} is not BCD (kept as hex digits)")
    # Address(area, terminal, msa, group) without the frozen dataclass __init__ (the same object, faster)
    address = _new(Address)
    _set(
        address,
        "__dict__",
        {"area": area, "terminal": raw[2] | raw[3] << 8, "msa": raw[4] >> 1, "group": bool(raw[4] & 1)},
    )
    return address


def encode_address(address: Address) -> bytes:
    area = address.area
    if not isinstance(area, str) or len(area) != 4:
        raise BadField(f'address.area: expected 4 digits like "0171", got {area!r}')
    try:
        a1 = bytes.fromhex(area)
    except ValueError:
        raise BadField(f"address.area: {area!r} is not 4 hex/BCD digits") from None
    terminal, msa = address.terminal, address.msa
    if isinstance(terminal, bool) or not isinstance(terminal, int) or not 0 <= terminal <= 0xFFFF:
        raise BadField(f"address.terminal: {terminal!r} is outside 0..65535")
    if isinstance(msa, bool) or not isinstance(msa, int) or not 0 <= msa <= 127:
        raise BadField(f"address.msa: {msa!r} is outside 0..127")
    return bytes([a1[1], a1[0], terminal & 0xFF, terminal >> 8, msa << 1 | (1 if address.group else 0)])


def decode_tp(raw: bytes, position: int) -> Tp:
    second, minute, hour, day = (bcd_to_int(raw[i : i + 1], position + i) for i in range(1, 5))
    if second > 59 or minute > 59 or hour > 23 or not 1 <= day <= 31:
        raise BadField(
            f"Tp send time day {day} {hour:02d}:{minute:02d}:{second:02d} is not a valid time", position + 1
        )
    return Tp(raw[0], day, hour, minute, second, raw[5])


def encode_tp(tp: Tp) -> bytes:
    checks = (
        ("pfc", tp.pfc, 0, 255),
        ("day", tp.day, 1, 31),
        ("hour", tp.hour, 0, 23),
        ("minute", tp.minute, 0, 59),
        ("second", tp.second, 0, 59),
        ("delay_min", tp.delay_min, 0, 255),
    )
    for name, value, low, high in checks:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadField(f"tp.{name}: {value!r} is outside {low}..{high}")

    def bcd(n: int) -> int:
        return (n // 10) << 4 | n % 10

    return bytes([tp.pfc, bcd(tp.second), bcd(tp.minute), bcd(tp.hour), bcd(tp.day), tp.delay_min])


# --- data units ----------------------------------------------------------------------------------------


def decode_units(r: Reader, afn: int, direction: int) -> list[DataUnit]:
    """All data units in ``r``. Undecodable data is kept as raw hex with a warning (never raised), except a
    first DA/DT that is no identifier at all."""
    units: list[DataUnit] = []
    sole = False
    while r.remaining():
        if sole or r.remaining() < 4:
            extra = r.rest()
            r.warnings.append(f"{len(extra)} padding bytes {extra.hex()} after the data units ignored")
            break
        pos = r.pos
        da1, da2, dt1, dt2 = r.peek(4)
        try:
            da = _DA.get(da1 | da2 << 8)
            if da is None:
                pns, all_points = decode_da(da1, da2, pos)
                da = _DA[da1 | da2 << 8] = (tuple(pns), all_points)
            dt = _DT.get(dt1 | dt2 << 8)
            if dt is None:
                dt = _DT[dt1 | dt2 << 8] = tuple(decode_dt(dt1, dt2, pos + 2))
        except FrameError as exc:
            if not units:
                raise
            extra = r.rest()
            r.warnings.append(
                f"{len(extra)} bytes {extra.hex()} after the data units are no data unit "
                f"({exc.message}); ignored as padding"
            )
            break
        r.pos = pos + 4  # the 4 bytes of DA DT (peeked above)
        fns = list(dt)
        unit = DataUnit(list(da[0]), fns, [], da[1])
        units.append(unit)
        if not _decode_items(r, unit, afn, direction):
            break
        for f in fns:
            spec = lookup(afn, f)
            if spec is not None and spec.sole:
                sole = True
                break
    if not units:
        r.warnings.append("frame carries no data unit")
    return units


def _decode_items(r: Reader, unit: DataUnit, afn: int, direction: int) -> bool:
    """Decode the data of each Pn x Fn into ``unit.items``; False when the rest had to be kept raw."""
    items = unit.items
    try:
        for pn, fn in pairs(unit.pn, unit.fn, unit.all_points):
            r.context = f"AFN{afn:02X} F{fn} p{pn}"
            spec = lookup(afn, fn)
            if spec is None and afn == AFN_CLASS1 and direction == DOWN:
                items.append(UnitItem(pn, fn, {}))  # class 1 requests never carry data
                continue
            if spec is None:
                rest = r.rest()
                r.warn(f"unsupported Fn, {len(rest)} bytes kept as raw hex")
                items.append(UnitItem(pn, fn, {"raw": rest.hex()}))
                return False
            body = spec.down if direction == DOWN else spec.up  # spec.body(direction)
            if body is None:
                items.append(UnitItem(pn, fn, {}))
                continue
            mark = r.pos
            try:
                data = body.decode(r)
            except FrameError as exc:
                r.pos = mark
                rest = r.rest()
                r.warn(f"data does not decode ({exc.message}), {len(rest)} bytes kept as raw hex")
                items.append(UnitItem(pn, fn, {"raw": rest.hex()}))
                return False
            items.append(UnitItem(pn, fn, data))
        return True
    finally:
        r.context = ""


def encode_unit(unit: DataUnit, afn: int, direction: int) -> bytes:
    out = bytearray(encode_da(unit.pn, unit.all_points) + encode_dt(unit.fn))
    items = unit.items or [UnitItem(p, f, {}) for p, f in pairs(unit.pn, unit.fn, unit.all_points)]
    for item in items:
        raw = item.data.get("raw")
        if raw is not None:
            try:
                out += bytes.fromhex(raw)
            except (TypeError, ValueError):
                raise BadField(f"AFN{afn:02X} F{item.fn} p{item.pn}: raw {raw!r} is not hex") from None
            continue
        spec = lookup(afn, item.fn)
        if spec is None:
            if afn == AFN_CLASS1 and direction == DOWN:
                continue
            raise BadField(f"AFN{afn:02X} F{item.fn}: no encoder for this Fn; give its data as raw hex")
        body = spec.body(direction)
        if body is not None:
            out += body.encode(item.data)
    return bytes(out)


# --- whole frame ---------------------------------------------------------------------------------------


def decode_frame(data: bytes) -> Gdw1376Frame:
    """Decode one frame (``data`` starts at its 68H). Raises only FrameError subclasses."""
    data = bytes(data)
    if not data:
        raise TruncatedFrame("empty buffer", 0)
    total = frame_length(data, 0)
    if total is None:
        raise TruncatedFrame(f"header needs {HEADER_LEN} bytes, got {len(data)}", len(data))
    if len(data) < total:
        raise TruncatedFrame(f"frame needs {total} bytes, got {len(data)}", len(data))
    cs_pos = total - 2
    if data[total - 1] != END:
        raise BadStartByte(f"expected the end byte 16H, got {data[total - 1]:02X}H", total - 1)
    cs = checksum(data[HEADER_LEN:cs_pos])
    if cs != data[cs_pos]:
        raise BadChecksum(f"checksum {data[cs_pos]:02X}H, computed {cs:02X}H", cs_pos)

    warnings: list[str] = []
    protocol_id = data[1] & 0x03
    if protocol_id == PROTOCOL_ID_2005:
        warnings.append("protocol id 1 (Q/GDW 130-2005) in the length field, decoded as 1376.1-2013")
    if len(data) > total:
        warnings.append(f"{len(data) - total} bytes after the end byte ignored")
    control = _CONTROLS[data[6]]
    allowed = PRM1_FUNCTIONS if control.prm else PRM0_FUNCTIONS
    if control.function not in allowed:
        warnings.append(f"function code {control.function} is not defined for PRM={control.prm}")
    address = decode_address(data[7:12], warnings)
    afn = data[12]
    seq = _SEQS[data[13]]
    if afn in SINGLE_FRAME_AFNS and not (seq.fir and seq.fin):
        warnings.append(f"FIR={seq.fir} FIN={seq.fin} on a single-frame AFN{afn:02X} message (device quirk)")

    pw_len = PW_LEN if needs_pw(control.direction, afn) else 0
    ec_len = EC_LEN if control.acd else 0
    tp_len = TP_LEN if seq.tpv else 0
    data_end = cs_pos - pw_len - ec_len - tp_len
    if data_end < DATA_START:
        raise BadLength(
            f"user data too short for the auxiliary fields (PW {pw_len}, EC {ec_len}, Tp {tp_len} bytes)",
            DATA_START,
        )
    units = decode_units(Reader(data, DATA_START, data_end, warnings), afn, control.direction)
    pos = data_end
    pw = ec = tp = None
    if pw_len:
        pw = data[pos : pos + PW_LEN]
        pos += PW_LEN
    if ec_len:
        ec = (data[pos], data[pos + 1])
        pos += EC_LEN
    if tp_len:
        tp = decode_tp(data[pos : pos + TP_LEN], pos)
    return Gdw1376Frame(control, address, afn, seq, units, pw, ec, tp, warnings, protocol_id)


def encode_frame(frame: Gdw1376Frame) -> bytes:
    """Encode a frame; raises BadField (naming the field) on values the frame cannot carry."""
    c = frame.control
    for name, value, high in (
        ("dir", c.direction, 1),
        ("prm", c.prm, 1),
        ("acd_fcb", c.acd_fcb, 1),
        ("fcv", c.fcv, 1),
        ("function", c.function, 15),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise BadField(f"control.{name}: {value!r} is outside 0..{high}")
    s = frame.seq
    for name, value, high in (
        ("tpv", s.tpv, 1),
        ("fir", s.fir, 1),
        ("fin", s.fin, 1),
        ("con", s.con, 1),
        ("seq", s.seq, 15),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise BadField(f"seq.{name}: {value!r} is outside 0..{high}")
    afn = frame.afn
    if isinstance(afn, bool) or not isinstance(afn, int) or not 0 <= afn <= 255:
        raise BadField(f"afn: {afn!r} is outside 0..255")
    if frame.protocol_id not in (PROTOCOL_ID_2013, PROTOCOL_ID_2005):
        raise BadField(f"protocol_id: {frame.protocol_id!r} is neither 2 nor 1")

    body = bytearray()
    for unit in frame.units:
        body += encode_unit(unit, afn, c.direction)

    aux = bytearray()
    if needs_pw(c.direction, afn):
        pw = bytes(PW_LEN) if frame.pw is None else bytes(frame.pw)
        if len(pw) != PW_LEN:
            raise BadField(f"pw: needs {PW_LEN} bytes, got {len(pw)}")
        aux += pw
    elif frame.pw is not None:
        raise BadField(
            f"pw: only downlink AFN 01/04/05/06/0F/10 frames carry PW (this is AFN{afn:02X}, "
            f"dir {c.direction})"
        )
    if c.acd:
        ec = frame.ec if frame.ec is not None else (0, 0)
        if len(ec) != 2 or any(
            isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255 for v in ec
        ):
            raise BadField(f"ec: expected two counters 0..255, got {ec!r}")
        aux += bytes(ec)
    elif frame.ec is not None:
        raise BadField("ec: event counters are only carried by uplink frames with ACD = 1")
    if s.tpv:
        if frame.tp is None:
            raise BadField("tp: SEQ.TpV = 1 needs a time label")
        aux += encode_tp(frame.tp)
    elif frame.tp is not None:
        raise BadField("tp: a time label needs SEQ.TpV = 1")

    user = bytes([c.to_byte()]) + encode_address(frame.address) + bytes([afn, s.to_byte()]) + body + aux
    if len(user) > MAX_USER_DATA:
        raise BadLength(f"user data of {len(user)} bytes exceeds {MAX_USER_DATA}")
    l_field = (len(user) << 2 | frame.protocol_id).to_bytes(2, "little")
    return bytes([START]) + l_field + l_field + bytes([START]) + user + bytes([checksum(user), END])
