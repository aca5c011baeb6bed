"""Lists shown a page at a time, in chat and on the desk."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def page_count(total: int, size: int) -> int:
    """How many pages of `size` a list of `total` items takes (at least one)."""
    return max(1, -(-total // size))


async def fetch_page(
    fetch: Callable[[int], Awaitable[tuple[list[T], int]]], page: int, size: int
) -> tuple[list[T], int, int, int]:
    """`fetch(page)` → (items, total); a forged or stale page past the end (the list shrank)
    gives the last page instead. Returns the items, the total, the page and the page count."""
    items, total = await fetch(page)
    pages = page_count(total, size)
    if page >= pages:
        page = pages - 1
        items, total = await fetch(page)
    return items, total, page, pages
