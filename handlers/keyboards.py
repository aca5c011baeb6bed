"""Inline keyboard helpers shared by the staff conversations."""

from aiogram.types import InlineKeyboardButton


def button(text: str, data: str) -> InlineKeyboardButton:
    """One button with callback data (a numbered option on text-only channels)."""
    return InlineKeyboardButton(text=text, callback_data=data)
