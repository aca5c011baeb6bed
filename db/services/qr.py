"""The hamlet's join poster: its join code in large letters, what to type on Zalo, and (when the
bot has a Telegram username) a QR code of the deep link that opens the bot and joins the hamlet."""

import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BOX = 16  # pixels per QR module: large enough to scan from a poster at a few metres
BORDER = 4
WIDTH = 900  # of a poster without a QR code
MARGIN = 40


# Telegram's rule for bot usernames: 5 to 32 letters, digits or _, ending in "bot".
BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,28}[Bb][Oo][Tt]$")


def is_bot_username(name: str) -> bool:
    """True for a Telegram bot username, with or without its leading @."""
    return BOT_USERNAME.match(name.removeprefix("@")) is not None


def chat_link(bot_username: str) -> str:
    """https://t.me/<bot>: Telegram opens the private chat with the bot."""
    return f"https://t.me/{bot_username.lstrip('@')}"


def join_link(bot_username: str, join_code: str) -> str:
    """https://t.me/<bot>?start=j_<code>: Telegram opens the bot and sends /start j_<code>."""
    return f"https://t.me/{bot_username.lstrip('@')}?start=j_{join_code}"


def qr_image(link: str) -> Image.Image:
    """The QR code of the link, black on white."""
    import qrcode  # on first use: the bot only needs join_link (for /area)
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=BOX, border=BORDER)
    code.add_data(link)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (shipped with matplotlib): it has every Vietnamese letter."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def _fitting(draw: ImageDraw.ImageDraw, text: str, size: int, bold: bool, width: int) -> ImageFont.FreeTypeFont:
    """The largest font up to `size` in which `text` fits in `width` pixels."""
    while True:
        font = _font(size, bold)
        if size <= 12 or draw.textlength(text, font=font) <= width:
            return font
        size -= 2


def write_poster(path: Path, lines: list[tuple[str, int, bool]], link: str | None = None) -> None:
    """A PNG poster: the QR code of `link` on top (when given, at the picture's top left, as
    qr_image draws it), then each (text, size, bold) line centred below it."""
    qr = qr_image(link) if link else None
    width = qr.width if qr else WIDTH
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    fonts = [_fitting(measure, text, size, bold, width - 2 * MARGIN) for text, size, bold in lines]
    heights = [font.getbbox("ÁẬgy")[3] + font.size // 2 for font in fonts]
    top = qr.height if qr else MARGIN
    poster = Image.new("RGB", (width, top + sum(heights) + MARGIN), "white")
    if qr:
        poster.paste(qr, (0, 0))
    draw = ImageDraw.Draw(poster)
    y = top
    for (text, _size, _bold), font, height in zip(lines, fonts, heights):
        draw.text(((width - draw.textlength(text, font=font)) / 2, y), text, font=font, fill="black")
        y += height
    poster.save(path, format="PNG")
