"""DL/T 645-2007 and DL/T 645-1997 meter protocol codec (pure: bytes <-> typed frames, no I/O).

Decoding::

    frame = decode_frame(raw)          # Dlt645Frame; raises only FrameError subclasses
    frame_to_json(frame)               # the JSON contract printed by the CLI
    frame_length(buf, start)           # stream splitting: total length, None (need more) or FrameError

Encoding: one ``build_*`` function per function code and direction (see :mod:`.builders`), and
``encode_from_json`` for the JSON contract. ``lookup`` / ``lookup_1997`` give the data-identifier
registry entries (names, formats, units).
"""

from gridcare.protocols.dlt645 import loadprofile as _loadprofile  # noqa: F401  (registers its codec)
from gridcare.protocols.dlt645.builders import (
    build_abnormal_reply,
    build_broadcast_time,
    build_change_baud,
    build_change_baud_reply,
    build_change_password,
    build_change_password_reply,
    build_demand_clear,
    build_demand_clear_reply,
    build_event_clear,
    build_event_clear_reply,
    build_freeze,
    build_freeze_reply,
    build_meter_clear,
    build_meter_clear_reply,
    build_read_address_reply,
    build_read_address_request,
    build_read_follow_up_reply,
    build_read_follow_up_request,
    build_read_reply,
    build_read_request,
    build_remote_control,
    build_remote_control_reply,
    build_reread_reply,
    build_reread_request,
    build_write_address_reply,
    build_write_address_request,
    build_write_reply,
    build_write_request,
)
from gridcare.protocols.dlt645.codec import decode_frame, encode_from_json, frame_to_json
from gridcare.protocols.dlt645.datablock import DataSpec
from gridcare.protocols.dlt645.frame import build_frame, frame_length, with_preamble
from gridcare.protocols.dlt645.model import (
    BROADCAST_ADDRESS,
    ERROR_BITS_1997,
    ERROR_BITS_2007,
    ERROR_BITS_REMOTE_CONTROL,
    PROTOCOL_1997,
    PROTOCOL_2007,
    REMOTE_COMMANDS,
    WILDCARD_ADDRESS,
    Dlt645Frame,
    Value,
    error_names,
)
from gridcare.protocols.dlt645.registry_events import lookup
from gridcare.protocols.dlt645.v1997 import lookup_1997
from gridcare.protocols.dlt645.values import Field

__all__ = [
    "BROADCAST_ADDRESS",
    "ERROR_BITS_1997",
    "ERROR_BITS_2007",
    "ERROR_BITS_REMOTE_CONTROL",
    "PROTOCOL_1997",
    "PROTOCOL_2007",
    "REMOTE_COMMANDS",
    "WILDCARD_ADDRESS",
    "DataSpec",
    "Dlt645Frame",
    "Field",
    "Value",
    "build_abnormal_reply",
    "build_broadcast_time",
    "build_change_baud",
    "build_change_baud_reply",
    "build_change_password",
    "build_change_password_reply",
    "build_demand_clear",
    "build_demand_clear_reply",
    "build_event_clear",
    "build_event_clear_reply",
    "build_frame",
    "build_freeze",
    "build_freeze_reply",
    "build_meter_clear",
    "build_meter_clear_reply",
    "build_read_address_reply",
    "build_read_address_request",
    "build_read_follow_up_reply",
    "build_read_follow_up_request",
    "build_read_reply",
    "build_read_request",
    "build_remote_control",
    "build_remote_control_reply",
    "build_reread_reply",
    "build_reread_request",
    "build_write_address_reply",
    "build_write_address_request",
    "build_write_reply",
    "build_write_request",
    "decode_frame",
    "encode_from_json",
    "error_names",
    "frame_length",
    "frame_to_json",
    "lookup",
    "lookup_1997",
    "with_preamble",
]
