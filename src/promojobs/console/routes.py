"""The console's pages and form posts. Each one calls the public API in-process (console.api) with the
session's token; the only thing read directly is the keyspace verdict, through the API's own rule.

The pages live by subject: signing in (sign_in), the promotions list (promotions), one promotion with its
codes and jobs (promotion), a job's live progress (progress); what they share is in web."""

from __future__ import annotations

from fastapi import FastAPI

# Imported for their routes, which they add to web.router.
from promojobs.console import progress, promotion, promotions, sign_in  # noqa: F401
from promojobs.console.web import install_handlers, router


def install(app: FastAPI) -> None:
    app.include_router(router)
    install_handlers(app)
