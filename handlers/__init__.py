"""One aiogram Router per feature: thin handlers that parse, call a service and render."""

from aiogram import Router

from handlers import (
    area,
    cancel,
    fallback,
    help,
    households,
    joining,
    language,
    learn,
    pledge,
    privacy,
    quiz,
    start,
    stats,
)


def routers() -> list[Router]:
    """Fresh routers for one dispatcher: joining before /start (it takes /start j_CODE),
    /cancel early (it ends any conversation), the fallback last."""
    return [
        cancel.router(), joining.router(), start.router(), help.router(), language.router(),
        learn.router(), quiz.router(), pledge.router(), privacy.router(), households.router(), stats.router(),
        area.router(), fallback.router(),
    ]
