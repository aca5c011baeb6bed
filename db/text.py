"""Text helpers shared by the services: NFC, accent folding, and the N_ marker for catalogs."""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Translator:
    """Interface text in any of the deployment's languages, for messages rendered outside an update
    (broadcasts, reminders): `translator(locale, msgid)`; the chat layer provides the catalogs."""

    translate: Callable[[str, str], str]
    locales: tuple[str, ...]
    default: str

    def __call__(self, locale: str | None, message: str) -> str:
        """`message` (a msgid) in `locale`, or in the default language for an unknown locale."""
        return self.translate(locale if locale in self.locales else self.default, message)
