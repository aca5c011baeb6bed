"""Placeholders an article body may hold, filled in for each reader when the article is shown.

`{targets}`, on a line of its own, becomes the targets of the campaign running where the reader
lives (the same campaign their readings count for), or a neutral sentence where none runs.
"""

import re

TARGETS = "{targets}"
KNOWN = (TARGETS,)
PLACEHOLDER = re.compile(r"\{[^{}\s]*\}")


def placeholders(text: str) -> list[str]:
    """Every `{…}` in `text`, in order."""
    return PLACEHOLDER.findall(text)
