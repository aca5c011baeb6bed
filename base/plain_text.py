"""Bot text as a user of a text-only channel (Zalo, the console) should read it."""

from html.parser import HTMLParser


class _TextOnly(HTMLParser):
    """Strips Telegram HTML to plain text; a link keeps its address."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append(dict(attrs).get("href") or "")
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href = self._links.pop()
            if href and not "".join(self.parts).endswith(href):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text a user of a text-only channel should read.

    Entities are decoded once, by the parser: a user's own "&amp;" or "&region=" (in a link's
    query, say) must reach them as they typed it, as on Telegram."""
    if parse_mode != "HTML":
        return text
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)
