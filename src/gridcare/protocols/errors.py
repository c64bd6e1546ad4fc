"""The only exceptions the protocol decoders raise.

Every error carries a short machine-readable ``code`` and the byte ``position`` (offset from the start
of the buffer handed to the decoder) where the problem was found, so a front-end can log it and an operator
can find the bad byte in the raw frame archive.
"""

from __future__ import annotations


class FrameError(ValueError):
    """A frame could not be decoded. ``code`` names the reason, ``position`` the byte offset (or None)."""

    code = "frame_error"

    def __init__(self, message: str, position: int | None = None, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.position = position
        where = f" at byte {position}" if position is not None else ""
        super().__init__(f"{message}{where}")
        self.message = f"{message}{where}"


class TruncatedFrame(FrameError):
    """The buffer ends before the frame does."""

    code = "truncated"


class BadStartByte(FrameError):
    """A start byte (68H) or end byte (16H) is missing or misplaced."""

    code = "bad_delimiter"


class BadLength(FrameError):
    """A length field disagrees with the frame or with itself."""

    code = "bad_length"


class BadChecksum(FrameError):
    """The checksum byte does not match the bytes it covers."""

    code = "bad_checksum"


class BadBcd(FrameError):
    """A byte that must be BCD holds a nibble above 9."""

    code = "bad_bcd"


class BadField(FrameError):
    """A field holds a value the standard does not allow (unknown function code, bad date, ...)."""

    code = "bad_field"


class UnsupportedFrame(FrameError):
    """A well-formed frame whose type this codec cannot encode or decode."""

    code = "unsupported"
