"""A bounded cursor over a frame buffer; every error it raises names the absolute byte position."""

from __future__ import annotations

from gridcare.protocols.errors import BadField, TruncatedFrame


class Reader:
    """Reads ``data[pos:end]``; positions are offsets in ``data`` (the whole frame handed to the decoder).

    ``warnings`` collects what the decoders tolerated; ``context`` prefixes them (e.g. "AFN0C F33 p1").
    """

    def __init__(self, data: bytes, pos: int, end: int, warnings: list[str] | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.warnings: list[str] = warnings if warnings is not None else []
        self.context = ""

    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, n: int, what: str) -> bytes:
        """The next ``n`` bytes; TruncatedFrame when fewer remain."""
        if n < 0 or self.pos + n > self.end:
            raise TruncatedFrame(f"{what}: needs {n} bytes, only {self.remaining()} left", self.pos)
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def rest(self) -> bytes:
        """Everything up to ``end``."""
        out = self.data[self.pos : self.end]
        self.pos = self.end
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "little")

    def peek(self, n: int) -> bytes:
        return self.data[self.pos : min(self.pos + n, self.end)]

    def warn(self, message: str) -> None:
        prefix = f"{self.context}: " if self.context else ""
        self.warnings.append(f"{prefix}{message}")

    def bad(self, message: str, position: int | None = None) -> BadField:
        """A BadField to raise, positioned at ``position`` (default: the cursor)."""
        return BadField(message, self.pos if position is None else position)
