"""Small pieces of text every interface shows: dates in local time, short labels, what a user
typed shown back, and numbers read from typed text or button data."""

from datetime import date, datetime, timezone

from aiogram.utils.markdown import html_decoration as hd

from base.clock import Clock
from base.settings import Settings


def today(clock: Clock, settings: Settings) -> date:
    """Today's date where the deployment is (Asia/Ho_Chi_Minh by default)."""
    return clock.now().astimezone(settings.tz).date()


def local_date(moment: datetime, settings: Settings) -> str:
    """A stored time as a local date, dd/mm/yyyy (SQLite returns it without a zone: UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(settings.tz).strftime("%d/%m/%Y")


# Ids in the database are 32-bit integers; pages of a list stay well below what fits in SQL.
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000


def whole_number(text: str, limit: int = MAX_ID) -> int | None:
    """A number typed or carried by a button, 0 to `limit` in ASCII digits; None otherwise.

    str.isdigit() is not enough: it takes "²" (which int() refuses) and numbers of any size
    (which the database refuses), and button data can be forged."""
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    value = int(text)
    return value if value <= limit else None


def short(text: str, limit: int = 48) -> str:
    """A label cut to fit a button on a small phone."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def echo(typed: str, limit: int = 60) -> str:
    """What a user typed, shown back in a message: shortened, and quoted so it is never markup
    (a 100,000-character code must not make a reply Telegram refuses)."""
    return hd.quote(short(" ".join(typed.split()), limit))
