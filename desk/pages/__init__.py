"""The desk's pages, one module per area of work; `register` adds every route."""

from aiohttp import web

from desk.pages import (
    audit,
    broadcasts,
    calendar,
    entry,
    households,
    models,
    overview,
    recognition,
    tips,
)

# The movement-cycle pages (recognition checklists, self-management models) follow the
# calendar, as in templates/base.html's navigation.
MODULES = (entry, overview, households, broadcasts, calendar, recognition, models, tips, audit)


def register(app: web.Application) -> None:
    """Add every page's routes to the desk application."""
    for module in MODULES:
        module.routes(app.router)
