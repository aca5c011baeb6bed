"""The `sources:` of an article: the laws, decrees and official guidance it relies on.

Each entry is a mapping:

    sources:
      - title: "Bộ luật Tố tụng hình sự 2015"   # required: the document's name, in the file's language
        number: "101/2015/QH13"                 # optional: its official number
        articles: [56, 111, 144]                # optional: the articles (Điều) relied on
        url: "https://…"                        # optional: only an official host (OFFICIAL_HOSTS)

An entry without `number` names guidance that has none (a hotline, a public service). The
language versions of an article cite the same documents: number, articles and url agree, in order.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

FIELDS = ("title", "number", "articles", "url")
# An official document number: 101/2015/QH13, 371/2025/NĐ-CP, 124/2021/TT-BCA, 2345/QĐ-NHNN.
NUMBER = re.compile(r"^\d+(/\d{4})?/[A-ZĐ][A-ZĐ0-9&.\-]*$")
# Links go only to the state's own sites: the legal databases and the ministries' portals.
OFFICIAL_HOSTS = ("vbpl.vn", "chinhphu.vn", "quochoi.vn", "gov.vn")


@dataclass(frozen=True)
class Source:
    """One document an article relies on."""

    title: str
    number: str = ""
    articles: tuple[int, ...] = ()
    url: str = ""

    def key(self) -> tuple[str, tuple[int, ...], str]:
        """What every language version of the article must agree on."""
        return self.number, self.articles, self.url


def parse_sources(raw: Any) -> tuple[Source, ...]:
    """The sources of a front matter as read from YAML, leniently: what is not a list of
    mappings is left out. content/check.py refuses what does not follow the rules."""
    if not isinstance(raw, list):
        return ()
    return tuple(Source(
        title=str(entry.get("title") or "").strip(),
        number=str(entry.get("number") or "").strip(),
        articles=tuple(item for item in entry["articles"] if isinstance(item, int) and not isinstance(item, bool))
        if isinstance(entry.get("articles"), list) else (),
        url=str(entry.get("url") or "").strip(),
    ) for entry in raw if isinstance(entry, dict))


def parse_reviewed(raw: Any) -> date | None:
    """The `reviewed:` date (YAML reads 2026-03-01 as a date; a quoted one is parsed too);
    None when missing or not a date."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            return None
    return None


def official(url: str) -> bool:
    """True for an https link to an official host (or a subdomain of one)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and any(host == name or host.endswith("." + name)
                                           for name in OFFICIAL_HOSTS)

