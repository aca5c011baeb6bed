"""Text helpers shared by the services: NFC, accent folding, and the N_ marker for catalogs."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def N_(message: str) -> str:
    """Mark a message for the gettext catalogs; the chat or CLI layer translates it when shown."""
    return message


def nfc(text: str) -> str:
    """Vietnamese text in NFC with spaces collapsed: the one form we store."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


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
