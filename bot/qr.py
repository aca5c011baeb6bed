"""The hamlet's join QR code: a deep link that opens the bot and joins the hamlet."""

import re
from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M


# Telegram's rule for bot usernames: 5 to 32 letters, digits or _, ending in "bot".
BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,28}[Bb][Oo][Tt]$")


def is_bot_username(name: str) -> bool:
    """True for a Telegram bot username, with or without its leading @."""
    return BOT_USERNAME.match(name.removeprefix("@")) is not None


def join_link(bot_username: str, join_code: str) -> str:
    """https://t.me/<bot>?start=j_<code>: Telegram opens the bot and sends /start j_<code>."""
    return f"https://t.me/{bot_username.lstrip('@')}?start=j_{join_code}"


def write_qr(link: str, path: Path) -> None:
    """A PNG of the link, large enough to scan from a poster at a few metres."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=16, border=4)
    code.add_data(link)
    code.make(fit=True)
    code.make_image(fill_color="black", back_color="white").save(path)
