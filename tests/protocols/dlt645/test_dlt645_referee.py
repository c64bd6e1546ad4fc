"""Cross-checks against the independent PyPI implementation ``dlt645==3.2.0`` (test-only dependency).

Directions covered:

- frames built by the referee (its meter server's replies, its client's requests) are decoded by ours;
- frames built by ours are parsed by the referee (its frame parser, its meter server, its client);
- over real loopback TCP (127.0.0.1, ephemeral port): the referee's TCP meter server answers our master,
  and the referee's TCP client reads from a minimal meter built on our encoders.

The referee has defects; the tests below pin them down openly (each is marked "REFEREE DEFECT") instead
of bending our codec:

1. it does not reverse the address bytes: ``set_address("201000000012")`` sends 20 10 00 00 00 12, so we
   hand it the address as wire bytes ``12 00 00 00 10 20``; its client shows read addresses unreversed;
2. its registry gives power factor the unit "kW";
3. its client reads a maximum-demand time without reversing the bytes (YYMMDDhhmm is sent mm first), so
   it fails on standard frames - its own server's included;
4. broadcast time and freeze data are sent in "natural order" (YY MM DD hh mm ss / MM DD hh mm) instead
   of low byte first (ss mm hh DD MM YY / mm hh DD MM);
5. baud-rate feature bytes for 4800/9600/19200 are 16H/32H/64H (BCD of bps/300) instead of the single
   bits 10H/20H/40H (1200 = 04H and 2400 = 08H agree);
6. demand clear and meter clear carry identifier + password instead of password + operator code;
7. change password uses identifier 40000C0n (typo for 04000C..) with n = level instead of level + 1;
8. it implements neither remote control (1CH), read follow-up (12H), load profile (06..) nor 1997.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
from dlt645 import Demand, DLT645Protocol, MeterServerService, TcpServer
from dlt645.service.clientsvc.client_service import MeterClientService
from dlt645.transport.client.tcp_client import TcpClient

from gridcare.protocols.dlt645 import (
    Value,
    build_abnormal_reply,
    build_broadcast_time,
    build_change_baud,
    build_change_password,
    build_demand_clear,
    build_event_clear,
    build_freeze,
    build_meter_clear,
    build_read_address_reply,
    build_read_address_request,
    build_read_reply,
    build_read_request,
    build_remote_control,
    build_write_reply,
    build_write_request,
    decode_frame,
    error_names,
    frame_length,
    frame_to_json,
)
from gridcare.protocols.errors import BadField, FrameError

A = "201000000012"
A_WIRE = bytes.fromhex("120000001020")  # what the referee must be given (REFEREE DEFECT 1)


class CaptureClient:
    """Stands in for the referee client's transport: records the frames its client builds."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def _ensure_connection(self) -> bool:
        return True

    def send_request(self, frame: bytes) -> None:
        self.sent.append(bytes(frame))
        return None

    def send_only(self, frame: bytes) -> bool:
        self.sent.append(bytes(frame))
        return True


@pytest.fixture(scope="module")
def referee_meter() -> MeterServerService:
    """The referee's simulated meter (read-only use; building one deep-copies its registry: ~1.5 s)."""
    meter = MeterServerService(TcpServer("127.0.0.1", 0))
    meter.set_address(A_WIRE)
    assert meter.set_00(0x00010000, 1234.56)
    assert meter.set_01(0x01010000, Demand(12.3456, datetime(2015, 10, 9, 0, 0)))
    assert meter.set_02(0x02010100, 220.1)
    assert meter.set_02(0x02020100, -1.234)
    assert meter.set_02(0x02060000, 0.985)
    assert meter.set_02(0x02800002, 50.01)
    assert meter.set_04(0x04000101, "16011101")
    assert meter.set_04(0x04000102, "215355")
    return meter


@pytest.fixture(scope="module")
def shared_client() -> tuple[MeterClientService, CaptureClient]:
    transport = CaptureClient()
    return MeterClientService(transport), transport  # type: ignore[arg-type]


@pytest.fixture
def referee_client(shared_client) -> tuple[MeterClientService, CaptureClient]:
    """The referee's client with a recording transport, reset for each test."""
    client, transport = shared_client
    client.address = bytearray(A_WIRE)
    transport.sent.clear()
    return client, transport


def ask_referee(meter: MeterServerService, frame: bytes):
    """Hand one of our frames to the referee meter and decode its answer with ours."""
    return decode_frame(bytes(meter.handle_request(DLT645Protocol.deserialize(frame))))


# ---- referee builds, we decode ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("di", "expected"),
    [
        ("00010000", [Value("forward_active_total", Decimal("1234.56"), "kWh")]),
        (
            "01010000",
            [
                Value("forward_active_demand_total", Decimal("12.3456"), "kW"),
                Value("forward_active_demand_total_time", "2015-10-09 00:00"),
            ],
        ),
        ("02010100", [Value("voltage_a", Decimal("220.1"), "V")]),
        ("02020100", [Value("current_a", Decimal("-1.234"), "A")]),
        ("02060000", [Value("power_factor_total", Decimal("0.985"), "")]),
        ("02800002", [Value("frequency", Decimal("50.01"), "Hz")]),
        ("04000101", [Value("weekday", 1), Value("date", "2016-01-11")]),
        ("04000102", [Value("time", "21:53:55")]),
        ("03300D00", [Value("cover_open_count", 0)]),
    ],
)
def test_referee_meter_replies_decode_with_ours(referee_meter, di, expected):
    request = DLT645Protocol.deserialize(build_read_request(A, di))
    reply = bytes(referee_meter.handle_request(request))
    frame = decode_frame(reply)  # the referee sends FE FE FE FE first
    assert reply[:4] == b"\xfe\xfe\xfe\xfe"
    assert (frame.address, frame.control, frame.di) == (A, 0x91, di)
    assert list(frame.values) == expected


def test_referee_client_requests_decode_with_ours(referee_client):
    client, transport = referee_client
    client.read_00(0x00010000)
    client.read_02(0x0201FF00)
    client.read_address()
    client.write_address(bytes.fromhex("990000001020"))
    client.clear_event("02000000", "00000001", 0xFFFFFFFF)
    client.change_baud_rate(2400)
    client.write_04(0x04000102, "215355", "02000000")
    frames = [decode_frame(f) for f in transport.sent]
    assert [(f.control, f.address, f.di) for f in frames] == [
        (0x11, A, "00010000"),
        (0x11, A, "0201FF00"),
        (0x13, "AAAAAAAAAAAA", None),
        (0x15, A, None),
        (0x1B, A, "FFFFFFFF"),
        (0x17, A, None),
        (0x14, A, "04000102"),
    ]
    assert frames[3].values == (Value("address", "201000000099"),)
    assert frames[4].values == (Value("password", "02000000"), Value("operator", "01000000"))
    assert frames[5].values == (Value("baud_rate", 2400, "bps"),)
    # the referee writes a password string in wire order (02 00 00 00 = level 02) and operator code 0
    assert frames[6].values == (
        Value("password", "02000000"),
        Value("operator", "00000000"),
        Value("time", "21:53:55"),
    )


def test_referee_defect_address_string_not_reversed(referee_client):
    """REFEREE DEFECT 1: its string address goes on the wire in display order."""
    client, transport = referee_client
    client.set_address(A)
    client.read_00(0x00010000)
    assert decode_frame(transport.sent[0]).address == "120000001020"


def test_referee_defect_broadcast_time_and_freeze_in_natural_order(referee_client):
    """REFEREE DEFECT 4: YY MM DD hh mm ss is sent year first; the standard sends seconds first, so our
    decoder reads month 22 from 2017-06-05 10:22:51 and refuses it, naming the byte."""
    client, transport = referee_client
    client.broadcast_time_sync(datetime(2017, 6, 5, 10, 22, 51))
    assert DLT645Protocol.deserialize(transport.sent[0]).data == bytearray.fromhex("170605102251")
    with pytest.raises(BadField) as exc:
        decode_frame(transport.sent[0])
    assert exc.value.position == 4 + 10
    client.freeze(month=10, day=9, hour=12, minute=15)
    with pytest.raises(BadField):  # read as mm hh DD MM = 10 09 12 15 -> month 15
        decode_frame(transport.sent[1])


def test_referee_defect_baud_feature_bytes_above_2400(referee_client, referee_meter):
    """REFEREE DEFECT 5: 9600 bps is sent as 32H (three bits set) instead of 20H."""
    client, transport = referee_client
    client.change_baud_rate(9600)
    with pytest.raises(BadField):
        decode_frame(transport.sent[0])
    frame = ask_referee(referee_meter, build_change_baud(A, 9600))
    assert (frame.control, frame.error_bits) == (0xD7, 0x08)
    assert error_names(frame.error_bits) == ("baud_rate_cannot_change",)


def test_referee_defect_clear_commands_carry_identifier_and_password(referee_client, referee_meter):
    """REFEREE DEFECT 6: 19H/1AH data is DI + password, not password + operator code (both 8 bytes, so
    our decoder reads the referee's DI as the password)."""
    client, transport = referee_client
    client.clear_demand(0x01010000, "02000000")
    client.clear_meter("02000000")
    demand, meter_clear = (decode_frame(f) for f in transport.sent)
    assert demand.values == (Value("password", "00010100"), Value("operator", "00000002"))
    assert meter_clear.values == (Value("password", "00000000"), Value("operator", "00000002"))
    reply = ask_referee(referee_meter, build_demand_clear(A))
    assert (reply.control, reply.error_bits) == (0xD9, 0x01)  # it rejects the standard layout


def test_referee_defect_change_password_identifier(referee_client):
    """REFEREE DEFECT 7: it sends DI 40000C02 for a level-2 password; the standard is 04000C03."""
    client, transport = referee_client
    client.change_password("00000000", "02000000")
    assert decode_frame(transport.sent[0]).di == "40000C02"
    assert decode_frame(build_change_password(A, "00000000", "02000000")).di == "04000C03"


# ---- we build, the referee parses ---------------------------------------------------------------------


def test_referee_parses_our_frames():
    for frame, control, data in [
        (build_read_request(A, "00010000"), 0x11, "00000100"),
        (build_read_reply(A, "00010000", [Decimal("1234.56")]), 0x91, "0000010056341200"),
        (build_read_address_request(), 0x13, ""),
        (build_abnormal_reply(A, 0x11, 0x02), 0xD1, "02"),
        (build_freeze(A, "99999999"), 0x16, "99999999"),
    ]:
        parsed = DLT645Protocol.deserialize(frame)
        assert parsed.ctrl_code == control
        assert bytes(parsed.data) == bytes.fromhex(data)
        assert bytes(parsed.addr) in (A_WIRE, b"\xaa" * 6)
        assert DLT645Protocol.serialize(parsed)[-len(frame) :] == frame  # same checksum and bytes


def test_referee_client_reads_our_replies(referee_client):
    client, _ = referee_client
    energy = client.handle_response(
        DLT645Protocol.deserialize(build_read_reply(A, "00010000", [Decimal("1234.56")]))
    )
    assert energy.value == pytest.approx(1234.56) and energy.unit == "kWh"
    volts = client.handle_response(
        DLT645Protocol.deserialize(build_read_reply(A, "02010100", [Decimal("220.1")]))
    )
    assert volts.value == pytest.approx(220.1)
    amps = client.handle_response(
        DLT645Protocol.deserialize(build_read_reply(A, "02020100", [Decimal("-1.234")]))
    )
    assert amps.value == pytest.approx(-1.234)
    clock = client.handle_response(DLT645Protocol.deserialize(build_read_reply(A, "04000102", ["21:53:55"])))
    assert clock.value == "215355"
    pf = client.handle_response(
        DLT645Protocol.deserialize(build_read_reply(A, "02060000", [Decimal("0.985")]))
    )
    assert pf.value == pytest.approx(0.985)
    assert pf.unit == "kW"  # REFEREE DEFECT 2: a power factor has no unit; ours says ""
    assert decode_frame(build_read_reply(A, "02060000", [Decimal("0.985")])).values[0].unit == ""
    address = client.handle_response(DLT645Protocol.deserialize(build_read_address_reply(A)))
    assert address.value == "120000001020"  # REFEREE DEFECT 1: shown unreversed
    assert client.handle_response(DLT645Protocol.deserialize(build_abnormal_reply(A, 0x11, 0x02))) is None
    assert client.handle_response(DLT645Protocol.deserialize(build_write_reply(A))) is None


def test_referee_defect_client_cannot_read_demand_time(referee_client, referee_meter):
    """REFEREE DEFECT 3: its client parses the demand time 00 00 09 10 15 (mm hh DD MM YY) as YY MM ..."""
    client, _ = referee_client
    ours = build_read_reply(A, "01010000", [Decimal("12.3456"), "2015-10-09 00:00"])
    with pytest.raises(ValueError, match=r"month must be in 1\.\.12"):
        client.handle_response(DLT645Protocol.deserialize(ours))
    theirs = bytes(
        referee_meter.handle_request(DLT645Protocol.deserialize(build_read_request(A, "01010000")))
    )
    with pytest.raises(ValueError):
        client.handle_response(DLT645Protocol.deserialize(theirs))
    assert decode_frame(theirs).values[1] == Value("forward_active_demand_total_time", "2015-10-09 00:00")


def test_referee_meter_does_not_implement_remote_control(referee_meter):
    """REFEREE DEFECT 8: 1CH is answered with an abnormal reply "other error"."""
    request = build_remote_control(A, "trip", "2017-06-05 10:22:51", "02000000", "12345678")
    reply = ask_referee(referee_meter, request)
    assert (reply.control, reply.function, reply.error_bits) == (0xDC, 0x1C, 0x01)


# ---- real loopback TCP ----------------------------------------------------------------------------------


def recv_frame(sock: socket.socket) -> bytes:
    """Read one frame (with its preamble) using our stream splitter."""
    buf = b""
    while True:
        start = 0
        while start < len(buf) and buf[start] == 0xFE:
            start += 1
        if start < len(buf):
            n = frame_length(buf, start)
            if n is not None and len(buf) >= start + n:
                return buf[: start + n]
        chunk = sock.recv(512)
        if not chunk:
            raise ConnectionError("peer closed before a whole frame arrived")
        buf += chunk


@pytest.fixture
def referee_tcp_meter() -> Iterator[tuple[MeterServerService, int]]:
    meter = MeterServerService.new_tcp_server("127.0.0.1", 0, timeout=2.0)
    meter.set_address(A_WIRE)
    meter.set_00(0x00010000, 1234.56)
    meter.set_01(0x01010000, Demand(12.3456, datetime(2015, 10, 9, 0, 0)))
    meter.set_02(0x02060000, -0.5)
    assert meter.start()
    try:
        yield meter, meter.server.port
    finally:
        meter.stop()


def test_tcp_our_master_against_referee_meter(referee_tcp_meter):
    meter, port = referee_tcp_meter
    assert port != 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:

        def ask(frame: bytes):
            sock.sendall(b"\xfe\xfe\xfe\xfe" + frame)
            return decode_frame(recv_frame(sock))

        energy = ask(build_read_request(A, "00010000"))
        assert frame_to_json(energy)["values"] == [
            {"name": "forward_active_total", "value": 1234.56, "unit": "kWh"}
        ]
        demand = ask(build_read_request(A, "01010000"))
        assert [v.value for v in demand.values] == [Decimal("12.3456"), "2015-10-09 00:00"]
        assert ask(build_read_request(A, "02060000")).values == (
            Value("power_factor_total", Decimal("-0.500"), ""),
        )
        assert ask(build_read_address_request()).values == (Value("address", A),)
        missing = ask(build_read_request(A, "00FE0000"))
        assert (missing.abnormal, error_names(missing.error_bits)) == (True, ("no_data_requested",))
        written = ask(build_write_request(A, "04000102", ["08:30:00"], "00000000", "00000000"))
        assert (written.control, written.values) == (0x94, ())
        assert ask(build_read_request(A, "04000102")).values == (Value("time", "08:30:00"),)
        assert ask(build_change_baud(A, 2400)).values == (Value("baud_rate", 2400, "bps"),)
        assert ask(build_freeze(A, "99999999")).control == 0x96
        assert ask(build_event_clear(A, "00000000", "00000000")).control == 0x9B
        assert ask(build_remote_control(A, "trip", "2099-01-01 00:00:00", "02000000")).error_bits == 0x01
        # broadcast time has no reply; the next reply proves it was processed. REFEREE DEFECT 4: it reads
        # our seconds-first time as year 2051, month 22 and keeps no time.
        sock.sendall(build_broadcast_time("2017-06-05 10:22:51"))
        assert ask(build_read_request(A, "00010000")).values[0].value == Decimal("1234.56")
        assert meter.time is None
        # meter clear: with an all-zero password and operator code the two layouts coincide (DEFECT 6)
        assert ask(build_meter_clear(A, "00000000", "00000000")).control == 0x9A
        assert ask(build_read_request(A, "00010000")).values[0].value == Decimal("0.00")
        change = ask(build_change_password(A, "00000000", "02123456"))
        assert (change.control, change.values) == (0x98, (Value("new_password", "02123456"),))


class OurMeter:
    """A minimal meter on 127.0.0.1 built from our encoders, for the referee's TCP client to read."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, raw: bytes) -> bytes:
        request = decode_frame(raw)
        if request.function == 0x13:
            return build_read_address_reply(A)
        if request.di == "00010000":
            return build_read_reply(A, "00010000", [Decimal("1234.56")])
        if request.di == "02010100":
            return build_read_reply(A, "02010100", [Decimal("230.4")])
        return build_abnormal_reply(A, request.function, 0x02)

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(5)
            try:
                while True:
                    raw = recv_frame(conn)
                    self.requests.append(raw)
                    conn.sendall(b"\xfe\xfe\xfe\xfe" + self.answer(raw))
            except (ConnectionError, OSError, FrameError):
                return

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


def test_tcp_referee_client_against_our_meter():
    meter = OurMeter()
    client = MeterClientService(TcpClient("127.0.0.1", meter.port, timeout=5))
    try:
        client.address = bytearray(A_WIRE)
        energy = client.read_00(0x00010000)
        assert energy is not None and energy.value == pytest.approx(1234.56)
        volts = client.read_02(0x02010100)
        assert volts is not None and volts.value == pytest.approx(230.4)
        assert client.read_02(0x02010200) is None  # our meter answers "no data requested"
        address = client.read_address()
        assert address is not None and address.value == "120000001020"  # REFEREE DEFECT 1
    finally:
        client.disconnect()
        meter.close()
    assert [decode_frame(r).di for r in meter.requests] == ["00010000", "02010100", "02010200", None]
