"""One aiogram Router per feature: thin handlers that parse, call a service and render."""

from bot import aiogram_models  # noqa: F401 - first: aiogram imported with models built on use
from aiogram import Router

from handlers import (
    area,
    broadcast,
    broadcasts,
    campaign,
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
    tip_inbox,
    tip_status,
    tips,
    whoami,
)


def routers() -> list[Router]:
    """Fresh routers for one dispatcher: joining before /start (it takes /start j_CODE),
    /broadcasts before /broadcast (its command must not be read as a broadcast's text), the
    general /cancel after the conversations that cancel in their own words, the fallback
    last."""
    return [
        joining.router(), start.router(), help.router(), language.router(),
        learn.router(), quiz.router(), pledge.router(), privacy.router(), households.router(),
        stats.router(), area.router(), tips.router(), tip_status.router(), tip_inbox.router(),
        broadcasts.router(), broadcast.router(), campaign.router(),
        whoami.router(), cancel.router(), fallback.router(),
    ]
