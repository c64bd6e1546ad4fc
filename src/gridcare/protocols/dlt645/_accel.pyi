from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

from gridcare.protocols.dlt645.model import Dlt645Frame, Value

def decode_frame(data: bytes, *, allow_trailing: bool = False) -> Dlt645Frame: ...
def setup(
    fallback: Callable[[bytes, bool], Dlt645Frame],
    layout_miss: Callable[[int, str], Any],
    fallback_marker: object,
    switch_module: ModuleType,
    value_type: type[Value],
    frame_type: type[Dlt645Frame],
    create_decimal: Callable[[str], Decimal],
) -> None: ...
