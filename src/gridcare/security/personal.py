"""Full personal data of a customer: only with ``export_personal_data``, and every view is audited (the
audit record names the customer number, never the values). Elsewhere personal data leaves masked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gridcare.archives import queries
from gridcare.security import audit
from gridcare.security.authz import require
from gridcare.security.principal import Principal
from gridcare.security.roles import Permission


@dataclass(frozen=True)
class PersonalData:
    customer_no: str
    name: str
    id_number: str
    phone: str
    address: str


def view_personal_data(
    session: Session, principal: Principal, customer_no: str, purpose: str = ""
) -> PersonalData:
    """The unmasked ID number, phone and address of one customer in scope. The caller commits (the audit
    record is part of the same transaction). Raises PermissionDenied, or queries.NotFound when the customer
    is missing or outside the principal's scope."""
    require(principal, Permission.EXPORT_PERSONAL_DATA)
    customer = queries.get_customer(session, principal, customer_no)
    audit.record(
        session,
        principal,
        "personal.view",
        f"customer {customer.customer_no}",
        detail={"fields": ["id_number", "phone", "address"], "purpose": purpose[:100]},
    )
    return PersonalData(
        customer_no=customer.customer_no,
        name=customer.name,
        id_number=customer.id_number,
        phone=customer.phone,
        address=customer.address,
    )
