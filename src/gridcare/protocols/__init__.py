"""Pure protocol codecs: bytes <-> typed frames. No I/O, no asyncio, no database."""
