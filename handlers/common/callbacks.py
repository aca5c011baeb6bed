"""Bounded field types for button data (aiogram CallbackData).

Button data comes back from the user's app and can be forged: every field has a type and
bounds, so a forged or oversized value never reaches a handler; such a press finds no handler
and gets the fallback's polite "this button is no longer usable". Telegram carries at most
64 bytes of callback data.
"""

from typing import Annotated

from pydantic import Field

from base.formatting import MAX_ID, MAX_PAGE

# A database id (32-bit, positive).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# A page of a list.
Page = Annotated[int, Field(ge=0, le=MAX_PAGE)]
# A content id (an article's folder name, content/check.py: ID) or a topic; the check keeps every
# button of the longest id within 64 bytes.
Slug = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
# A short word from a fixed set that the handler checks (a kind, a role's audience).
Word = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[a-z_]+$")]
# An article's version.
Version = Annotated[str, Field(min_length=1, max_length=12, pattern=r"^[0-9.]+$")]
# A year of a campaign.
Year = Annotated[int, Field(ge=2000, le=2100)]
# A small number: an answer's or a question's position.
Small = Annotated[int, Field(ge=0, le=99)]
