"""Q/GDW 1376.1-2013 master station <-> acquisition terminal protocol codec (pure: no I/O).

Decode: :func:`decode_frame` (bytes -> :class:`Gdw1376Frame`, raises only FrameError subclasses) and
:func:`frame_to_json` (the contract JSON object). Stream splitting: :func:`frame_length`. Encode:
:func:`encode_frame` (typed frame), :func:`encode_from_json` (contract JSON) and the ``build_*`` helpers.
"""

from gridcare.protocols.gdw1376.builders import (
    build_allow_close,
    build_class1_reply,
    build_class1_request,
    build_class2_reply,
    build_class2_request,
    build_clock_set,
    build_confirm,
    build_control,
    build_deny,
    build_event_reply,
    build_event_request,
    build_forward_reply,
    build_forward_request,
    build_heartbeat,
    build_link,
    build_login,
    build_logout,
    build_remote_trip,
    build_reply,
    build_unit_confirm,
    make_tp,
)
from gridcare.protocols.gdw1376.frame import checksum, decode_frame, encode_frame, frame_length
from gridcare.protocols.gdw1376.json_codec import encode_from_json, frame_from_json, frame_to_json
from gridcare.protocols.gdw1376.model import (
    PROTOCOL_NAME,
    Address,
    Control,
    DataUnit,
    Gdw1376Frame,
    Seq,
    Tp,
    UnitItem,
)

__all__ = [
    "PROTOCOL_NAME",
    "Address",
    "Control",
    "DataUnit",
    "Gdw1376Frame",
    "Seq",
    "Tp",
    "UnitItem",
    "build_allow_close",
    "build_class1_reply",
    "build_class1_request",
    "build_class2_reply",
    "build_class2_request",
    "build_clock_set",
    "build_confirm",
    "build_control",
    "build_deny",
    "build_event_reply",
    "build_event_request",
    "build_forward_reply",
    "build_forward_request",
    "build_heartbeat",
    "build_link",
    "build_login",
    "build_logout",
    "build_remote_trip",
    "build_reply",
    "build_unit_confirm",
    "checksum",
    "decode_frame",
    "encode_frame",
    "encode_from_json",
    "frame_from_json",
    "frame_length",
    "frame_to_json",
    "make_tp",
]
