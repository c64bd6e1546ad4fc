"""Customer self-service pages (网上营业厅) under ``/my``: a customer's own 户, bills, payments and usage.

Separate from the staff console: their own login (the customer login path of the security layer), frame
and labels; a staff session is refused here and a customer session is refused by every console page and
console API. :func:`mount` attaches the routes and the error page to the app.
"""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    from gridcare.web.my import auth, frame, pages

    frame.install(app)
    app.include_router(auth.router)
    app.include_router(pages.router)
