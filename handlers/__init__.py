"""The chat features, one folder each; each module holds one aiogram Router: thin handlers that
parse, call a service and render."""

import base  # noqa: F401 - first: aiogram imported with its models built on use

# isort: split
from aiogram import Router

from handlers.areas import area, households, stats
from handlers.broadcasts import compose, listing
from handlers.campaign import calendar
from handlers.general import cancel, dashboard, fallback, help, start, whoami
from handlers.movement import models, organizations, recognition
from handlers.outreach import learn, quiz
from handlers.residents import joining, language, pledge, privacy
from handlers.tips import inbox, status, submit


def routers() -> list[Router]:
    """Fresh routers for one dispatcher: joining before /start (it takes /start j_CODE),
    /broadcasts before /broadcast (its command must not be read as a broadcast's text), the
    general /cancel after the conversations that cancel in their own words, the fallback
    last."""
    return [
        joining.router(), start.router(), help.router(), language.router(),
        learn.router(), quiz.router(), pledge.router(), privacy.router(), households.router(),
        stats.router(), area.router(), submit.router(), status.router(), inbox.router(),
        listing.router(), compose.router(), calendar.router(), organizations.router(),
        models.router(), recognition.router(),
        whoami.router(), dashboard.router(), cancel.router(), fallback.router(),
    ]
