"""Interface text: every string in the code is in the catalogs, English is complete, all is NFC."""

import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[2]
SOURCES = ["bot", "handlers", "db", "scheduler", "content"]
KEYWORDS = {**DEFAULT_KEYWORDS, "__": None, "N_": None, "NP_": (1, 2)}
PLACEHOLDER = re.compile(r"{(\w*)}")


def forms(text) -> tuple[str, ...]:
    """A catalog id or string as its forms: one, or the singular and plural ones."""
    return (text,) if isinstance(text, str) else tuple(text)


def code_messages() -> set[str]:
    found = set()
    for folder in SOURCES:
        for _, _, message, _, _ in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(locale: str):
    with (ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=locale)


def test_every_interface_string_is_in_both_catalogs():
    messages = code_messages()
    assert len(messages) > 50
    for locale in ("vi", "en"):
        known = {forms(message.id)[0] for message in catalog(locale) if message.id}
        missing = messages - known
        assert not missing, f"run `make i18n` and translate: {sorted(missing)[:5]}"


def test_english_is_complete_and_keeps_the_placeholders():
    messages = code_messages()
    for message in catalog("en"):
        if forms(message.id)[0] not in messages:
            continue
        assert all(forms(message.string)), f"no English for {message.id!r}"
        assert "fuzzy" not in message.flags, f"fuzzy English for {message.id!r}"
        placeholders = {tuple(sorted(PLACEHOLDER.findall(text)))
                        for text in forms(message.id) + forms(message.string)}
        assert len(placeholders) == 1, f"placeholders differ in {message.id!r}"


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_catalog_text_is_nfc(locale):
    for message in catalog(locale):
        for text in forms(message.id) + forms(message.string):
            assert unicodedata.is_normalized("NFC", text), repr(text)


def test_source_files_are_nfc():
    for folder in [*SOURCES, "tests", "locales"]:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".po", ".pot", ".md", ".yaml", ".csv"}:
                text = path.read_text(encoding="utf-8")
                assert unicodedata.is_normalized("NFC", text), path
