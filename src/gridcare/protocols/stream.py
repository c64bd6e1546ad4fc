"""Find frames in a byte stream: garbage between frames, frames split across reads, several per read.

The splitter knows nothing of a protocol beyond a ``frame_length(buf, start)`` function (each codec has
one): it returns the total length of the frame starting at ``buf[start]`` (a 68H), None when more bytes
are needed to tell, or raises FrameError when no frame can start there. A candidate whose last byte is not
16H is taken as garbage too, and the search resumes at the next 68H.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gridcare.protocols.errors import FrameError

START = 0x68
END = 0x16
FrameLength = Callable[[bytes, int], "int | None"]


@dataclass
class StreamSplitter:
    """Feed bytes in as they arrive; get whole frames out. ``max_buffer`` bounds memory per stream."""

    frame_length: FrameLength
    max_buffer: int = 64 * 1024
    garbage_bytes: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return every complete frame now available, in order."""
        self._buf.extend(data)
        frames: list[bytes] = []
        while True:
            start = self._buf.find(START)
            if start < 0:
                self._discard(len(self._buf))
                return frames
            if start:
                self._discard(start)
            buf = bytes(self._buf)
            try:
                length = self.frame_length(buf, 0)
            except FrameError:
                self._discard(1)
                continue
            if length is None:
                if len(self._buf) > self.max_buffer:
                    self._discard(1)
                    continue
                return frames
            if len(buf) < length:
                return frames
            if buf[length - 1] != END:
                self._discard(1)
                continue
            frames.append(buf[:length])
            del self._buf[:length]

    def _discard(self, n: int) -> None:
        self.garbage_bytes += n
        del self._buf[:n]

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)
