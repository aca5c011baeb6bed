"""Administrative words that ceased on 1 July 2025, and the passages allowed to use them.

Since the 2025 reform there are provinces and, under them, xã, phường and đặc khu: no district
level (huyện, quận, thị xã, thành phố thuộc tỉnh) and no thị trấn. Current text must not speak of
them as if they still existed. A passage about the time before (a 2021 plan, an old document's
name) is allowed when the article lists it under `historical:` in its front matter, copied
exactly from the text:

    historical:
      - "kế hoạch năm 2021 của Ban Chỉ đạo 138 huyện"

Words are matched whole and case-insensitively: "chuyện" does not contain the word "huyện".
English text is checked for the English names of the old levels ("district", "township") as
well as the Vietnamese words (an English article quotes Vietnamese names); "town" is too common
a word to refuse and is left to the reviewer.
"""

import re

OLD_WORDS = {
    "vi": ("thị trấn", "thị xã", "thành phố thuộc tỉnh", "huyện", "quận"),
    "en": ("district", "districts", "township", "townships"),
}
_PATTERNS = {language: re.compile(r"(?<!\w)(" + "|".join(re.escape(word) for word in words) + r")(?!\w)",
                                  re.IGNORECASE)
             for language, words in OLD_WORDS.items()}


def old_words(text: str, language: str, historical: tuple[str, ...] = ()) -> list[str]:
    """The old administrative words in `text` (lower case, once each, in order), outside the
    passages marked historical."""
    for passage in historical:
        text = text.replace(passage, " ")
    patterns = [_PATTERNS["vi"]] + ([_PATTERNS[language]] if language in _PATTERNS and language != "vi" else [])
    found: list[str] = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            word = match.group(1).lower()
            if word not in found:
                found.append(word)
    return found
