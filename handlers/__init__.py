"""One aiogram Router per feature: thin handlers that parse, call a service and render."""

from aiogram import Router

from handlers import area, fallback, help, language, start


def routers() -> list[Router]:
    """Fresh routers for one dispatcher, the fallback last."""
    return [start.router(), help.router(), language.router(), area.router(), fallback.router()]
