"""One aiogram Router per feature: thin handlers that parse, call a service and render."""

from aiogram import Router

from handlers import area, fallback, help, language, start, tip_inbox, tip_status, tips


def routers() -> list[Router]:
    """Fresh routers for one dispatcher, the fallback last."""
    return [
        start.router(), help.router(), language.router(), area.router(),
        tips.router(), tip_status.router(), tip_inbox.router(),
        fallback.router(),
    ]
