"""Text helpers shared by the services: NFC, accent folding, and the N_ marker for catalogs."""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")


def N_(message: str) -> str:
    """Mark a message for the gettext catalogs; the chat or CLI layer translates it when shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a message with a plural form for the catalogs (`Translator.plural` translates it):
    the count decides the form, e.g. English "1 day" / "2 days"; Vietnamese has one form."""
    return singular, plural


def nfc(text: str) -> str:
    """Vietnamese text in NFC with spaces collapsed: the one form we store."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


# Bidi embeddings, overrides and isolates make a text read otherwise than it is stored (an
# officer or a hamlet head would see another number, name or address): typed text with one is
# refused. Other format characters (zero-width spaces, soft hyphens, BOMs) are invisible and
# dropped.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ODD_TEXT = N_("Nội dung có ký tự lạ, không đọc được. Bạn hãy gõ lại bằng chữ thường.")


def visible_text(text: str) -> str:
    """Typed text in NFC without invisible format characters; a Problem (ODD_TEXT) when it
    holds a bidi control."""
    text = unicodedata.normalize("NFC", text)
    if BIDI_CONTROLS & set(text):
        raise Problem(ODD_TEXT)
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def fold(text: str) -> str:
    """Lower case without diacritics ("Nguyễn Văn Đức" → "nguyen van duc"), for search."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped).strip().lower()


class Problem(Exception):
    """A rule was broken; `message` is a catalog msgid (marked with N_) and `params` fill it."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message.format(**params))
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Translator:
    """Interface text in any of the deployment's languages, for messages rendered outside an update
    (broadcasts, reminders): `translator(locale, msgid)`; the chat layer provides the catalogs."""

    translate: Callable[[str, str], str]
    locales: tuple[str, ...]
    default: str
    # (locale, singular, plural, n) → the form for n; without it, English-like rules.
    translate_plural: Callable[[str, str, str, int], str] | None = None

    def __call__(self, locale: str | None, message: str) -> str:
        """`message` (a msgid) in `locale`, or in the default language for an unknown locale."""
        return self.translate(self._known(locale), message)

    def plural(self, locale: str | None, message: tuple[str, str], n: int) -> str:
        """The form of `message` (marked with NP_) for the count `n`, in `locale`."""
        singular, plural = message
        if self.translate_plural is None:
            return singular if n == 1 else plural
        return self.translate_plural(self._known(locale), singular, plural, n)

    def _known(self, locale: str | None) -> str:
        return locale if locale in self.locales else self.default


_SEPARATORS = ("\n\n", "\n", " ")


def split_text(text: str, limit: int, size: Callable[[str], int] = len) -> list[str]:
    """Parts of at most `limit` (measured by `size`) that keep paragraphs, then lines, then
    words together; a word is cut only when it alone is longer than the limit. Blank parts are
    dropped. Messages that would be too long for a channel are sent as these parts."""
    parts = _split(text, limit, 0, size)
    return [part.strip("\n") for part in parts if part.strip()]


def _split(text: str, limit: int, level: int, size: Callable[[str], int]) -> list[str]:
    if size(text) <= limit:
        return [text]
    if level == len(_SEPARATORS):
        return _cut(text, limit, size)
    separator = _SEPARATORS[level]
    gap = size(separator)
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for piece in text.split(separator):
        width = size(piece)
        if current and used + gap + width <= limit:
            current.append(piece)
            used += gap + width
            continue
        if current:
            parts.append(separator.join(current))
        if width <= limit:
            current, used = [piece], width
        else:
            *whole, last = _split(piece, limit, level + 1, size)
            parts.extend(whole)
            current, used = [last], size(last)
    if current:
        parts.append(separator.join(current))
    return parts


def _cut(word: str, limit: int, size: Callable[[str], int]) -> list[str]:
    """A word longer than the limit, cut between characters."""
    parts, current, used = [], [], 0
    for char in word:
        width = size(char)
        if used + width > limit:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += width
    parts.append("".join(current))
    return parts
