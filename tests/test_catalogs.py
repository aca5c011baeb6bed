"""Interface text: every string in the code is in the catalogs, English is complete, all is NFC."""

import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent
SOURCES = ["bot", "handlers", "db", "scheduler", "content"]
KEYWORDS = {**DEFAULT_KEYWORDS, "__": None, "N_": None}
PLACEHOLDER = re.compile(r"{(\w*)}")


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
        known = {message.id for message in catalog(locale) if message.id}
        missing = messages - known
        assert not missing, f"run `make i18n` and translate: {sorted(missing)[:5]}"


def test_english_is_complete_and_keeps_the_placeholders():
    messages = code_messages()
    for message in catalog("en"):
        if message.id not in messages:
            continue
        assert message.string, f"no English for {message.id!r}"
        assert "fuzzy" not in message.flags, f"fuzzy English for {message.id!r}"
        assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string))


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_catalog_text_is_nfc(locale):
    for message in catalog(locale):
        for text in (message.id, message.string):
            if isinstance(text, str):
                assert unicodedata.is_normalized("NFC", text), repr(text)


def test_source_files_are_nfc():
    for folder in [*SOURCES, "tests", "locales"]:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".po", ".pot", ".md", ".yaml", ".csv"}:
                text = path.read_text(encoding="utf-8")
                assert unicodedata.is_normalized("NFC", text), path
