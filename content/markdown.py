"""The Markdown subset of articles, turned into Telegram HTML."""

import html
import re

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
ARTICLE_LINK = "article:"


def links(markdown: str) -> list[tuple[str, str]]:
    """Every link of the body as (text, target), in order."""
    return _LINK.findall(markdown)


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)

    def link(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if target.startswith(ARTICLE_LINK):
            return f"<b>{label}</b>"  # the article offers a button to open it
        return f'<a href="{html.escape(target)}">{label}</a>'

    text = _LINK.sub(link, text)
    text = _BOLD.sub(r"<b>\1</b>", text)
    return _ITALIC.sub(r"<i>\1</i>", text)


def to_html(markdown: str) -> str:
    """Paragraphs, **bold**, *italic*, links, `- ` lists and `## ` headings as Telegram HTML."""
    blocks = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = []
        for line in block.splitlines():
            stripped = line.strip()
            if stripped.startswith("#"):
                lines.append(f"<b>{_inline(stripped.lstrip('#').strip())}</b>")
            elif stripped.startswith(("- ", "* ")):
                lines.append(f"• {_inline(stripped[2:].strip())}")
            elif re.match(r"^\d+[.)] ", stripped):
                number, rest = stripped.split(" ", 1)
                lines.append(f"{number} {_inline(rest.strip())}")
            else:
                lines.append(_inline(stripped))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
