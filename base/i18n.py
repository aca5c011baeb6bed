"""Interface text: the gettext catalogs, the per-user locale, and translating outside updates."""

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from base.settings import LOCALES
from db.text import Translator

DOMAIN = "messages"


def locales_dir() -> Path:
    """The folder holding locales/<lang>/LC_MESSAGES/messages.po (and the compiled .mo)."""
    return Path(str(files("locales")))


def compile_catalogs(force: bool = False) -> list[Path]:
    """Compile every .po whose .mo is missing or older; returns the files written."""
    written = []
    for po_path in sorted(locales_dir().glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written


def make_i18n(default_locale: str) -> I18n:
    """The catalogs, compiled first if needed."""
    compile_catalogs()
    return I18n(path=locales_dir(), default_locale=default_locale, domain=DOMAIN)


@contextmanager
def use_locale(i18n: I18n, locale: str | None) -> Iterator[None]:
    """Translate in `locale` outside an update (CLI, scheduled jobs)."""
    with i18n.context(), i18n.use_locale(locale if locale in LOCALES else i18n.default_locale):
        yield


def translator(i18n: I18n) -> Translator:
    """Interface text in any language, for messages rendered outside an update (jobs, broadcasts)."""
    return Translator(
        lambda locale, message: i18n.gettext(message, locale=locale), LOCALES, i18n.default_locale,
        lambda locale, singular, plural, n: i18n.gettext(singular, plural, n, locale=locale))
