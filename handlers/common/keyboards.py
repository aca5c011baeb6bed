"""The one set of keyboard helpers: inline keyboards (numbered options on text-only channels),
pagers, and the filter that keeps commands out of typed steps."""

from collections.abc import Callable, Iterable

from aiogram import F
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

Data = str | CallbackData


def not_a_command():
    """The filter of a step that reads typed input: a command (/cancel, /id, /help …) is not
    input and keeps its meaning, even when the step's router comes before the command's."""
    return ~F.text.startswith("/")


def button(text: str, data: Data) -> InlineKeyboardButton:
    """One button with callback data (a numbered option on text-only channels)."""
    return InlineKeyboardButton(text=text, callback_data=data.pack() if isinstance(data, CallbackData) else data)


def keyboard(*rows: Iterable[tuple[str, Data]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data); empty rows are dropped."""
    return InlineKeyboardMarkup(inline_keyboard=[[button(label, data) for label, data in row] for row in rows if row])


def pager(page_data: Callable[[int], Data], page: int, total: int, size: int) -> list[tuple[str, Data]]:
    """◀ / ▶ buttons for a paginated list; `page_data(page)` is a page's button data."""
    row = []
    if page > 0:
        row.append((_("◀ Trước"), page_data(page - 1)))
    if (page + 1) * size < total:
        row.append((_("Sau ▶"), page_data(page + 1)))
    return row
