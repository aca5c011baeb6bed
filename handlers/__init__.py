"""One aiogram Router per feature: thin handlers that parse, call a service and render."""

from aiogram import Router

from handlers import area, broadcast, broadcasts, campaign, fallback, help, language, start


def routers() -> list[Router]:
    """Fresh routers for one dispatcher, the fallback last."""
    return [
        start.router(), help.router(), language.router(), area.router(),
        # /broadcasts before /broadcast: its command must not be read as a broadcast's text.
        broadcasts.router(), broadcast.router(), campaign.router(),
        fallback.router(),
    ]
