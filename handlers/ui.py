"""Small building blocks every handler uses: keyboards, dates in local time, short labels."""

from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, timezone
from typing import TypeVar

from aiogram import F
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd

from bot.settings import Settings
from scheduler.clock import Clock

T = TypeVar("T")


def not_a_command():
    """The filter of a step that reads typed input: a command (/cancel, /id, /help …) is not
    input and keeps its meaning, even when the step's router comes before the command's."""
    return ~F.text.startswith("/")


def keyboard(*rows: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data); empty rows are dropped."""
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
        for row in rows if row
    ])


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


def page_count(total: int, size: int) -> int:
    """How many pages of `size` a list of `total` items takes (at least one)."""
    return max(1, -(-total // size))


async def fetch_page(
    fetch: Callable[[int], Awaitable[tuple[list[T], int]]], page: int, size: int
) -> tuple[list[T], int, int, int]:
    """`fetch(page)` → (items, total); a forged or stale page past the end (the list shrank)
    gives the last page instead. Returns the items, the total, the page and the page count."""
    items, total = await fetch(page)
    pages = page_count(total, size)
    if page >= pages:
        page = pages - 1
        items, total = await fetch(page)
    return items, total, page, pages


def pager(prefix: str, page: int, total: int, size: int) -> list[tuple[str, str]]:
    """◀ / ▶ buttons for a paginated list (callback data `prefix:<page>`)."""
    row = []
    if page > 0:
        row.append((_("◀ Trước"), f"{prefix}:{page - 1}"))
    if (page + 1) * size < total:
        row.append((_("Sau ▶"), f"{prefix}:{page + 1}"))
    return row
