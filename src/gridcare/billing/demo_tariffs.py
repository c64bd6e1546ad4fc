"""The demo supply company's tariffs (``data/demo_tariffs.toml``): the four codes its customers carry.

They go through maker-checker like any tariff change - filed by ``demo:tariff-maker`` and approved by
``demo:tariff-checker``, two identities of the demo set-up that are not accounts - so the audit trail and
the versions say where the prices came from. Loaded by ``gridcare demo init`` and by ``gridcare run`` on
an empty database; codes that already have a version are left alone.
"""

from __future__ import annotations

from importlib.resources import files

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridcare.billing import tariff_store
from gridcare.billing.models import TariffVersion
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission

_RIGHTS = frozenset({Permission.MANAGE_TARIFFS.value})
DEMO_MAKER = Principal(username="demo:tariff-maker", permissions=_RIGHTS)
DEMO_CHECKER = Principal(username="demo:tariff-checker", permissions=_RIGHTS)


def demo_tariff_text() -> bytes:
    """The demo tariff document (TOML)."""
    return files("gridcare.billing").joinpath("data/demo_tariffs.toml").read_bytes()


def load_demo_tariffs(session: Session) -> list[TariffVersion]:
    """File and approve the demo tariffs whose codes have no version yet; returns the versions written.
    The caller commits."""
    document = tariff_store.parse_document(demo_tariff_text(), "toml")
    present = set(session.scalars(select(TariffVersion.code).distinct()))
    if {entry.code for entry in document.tariffs} <= present:
        return []
    missing = [entry for entry in document.tariffs if entry.code not in present]
    text = tariff_store.document_text(tariff_store.TariffDocument(tariffs=missing), "json")
    request = tariff_store.request_change(session, DEMO_MAKER, text, "json", "示例电价 demo tariffs")
    session.flush()
    return tariff_store.approve_change(session, DEMO_CHECKER, request.id, "示例数据 demo data")
