"""Areas: look-ups, adding to the tree, and scope checks."""

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import LEVELS, Area, Household
from db.text import N_, Problem

# Join codes are read off posters and typed on cheap phones: no 0/O or 1/I/L to confuse.
JOIN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
JOIN_CODE_LENGTH = 6


def new_join_code() -> str:
    """A random hamlet join code (31^6 ≈ 887 million of them)."""
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


async def get_area(session: AsyncSession, code: str) -> Area | None:
    """The area with this code (codes are stored in upper case), or None."""
    return await session.scalar(select(Area).where(Area.code == code.strip().upper()))


async def require_area(session: AsyncSession, code: str) -> Area:
    """The area with this code, or a Problem saying it does not exist."""
    area = await get_area(session, code)
    if area is None:
        raise Problem(N_("Không có địa bàn mã {code}."), code=code)
    return area


def check_parent(level: str, parent: Area | None) -> None:
    """Raise a Problem unless `level` may sit below `parent` in the tree."""
    if level not in LEVELS:
        raise Problem(N_("Cấp địa bàn không hợp lệ: {level}."), level=level)
    if parent is None:
        if level != "province":
            raise Problem(N_("Chỉ cấp tỉnh được không có địa bàn cấp trên."))
        return
    if LEVELS[level] <= LEVELS[parent.level]:
        raise Problem(
            N_("Cấp {level} không thể nằm dưới cấp {parent_level}."),
            level=level,
            parent_level=parent.level,
        )


async def add_area(
    session: AsyncSession, code: str, name: str, level: str, parent: Area | None
) -> Area:
    """Insert an area below `parent` and compute its path."""
    check_parent(level, parent)
    area = Area(code=code, name=name, level=level, parent_id=parent.id if parent else None)
    if level == "hamlet":
        area.join_code = new_join_code()
    session.add(area)
    await session.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    area.depth = parent.depth + 1 if parent else 0
    await session.flush()
    return area


async def children(session: AsyncSession, area: Area | None) -> list[Area]:
    """The areas directly below `area` (the provinces when `area` is None), by name."""
    parent = Area.parent_id.is_(None) if area is None else Area.parent_id == area.id
    return list(await session.scalars(select(Area).where(parent).order_by(Area.name)))


async def subtree(session: AsyncSession, area: Area) -> list[Area]:
    """The area and every area below it."""
    query = select(Area).where(Area.path.startswith(area.path, autoescape=True))
    return list(await session.scalars(query.order_by(Area.path)))


async def household_counts(session: AsyncSession, areas: list[Area]) -> dict[int, int]:
    """Households in each area's subtree, counted in SQL, keyed by area id (0 when none)."""
    top, hamlet = aliased(Area), aliased(Area)
    query = (
        select(top.id, func.count(Household.id))
        .join(hamlet, hamlet.path.startswith(top.path))
        .join(Household, Household.hamlet_id == hamlet.id)
        .where(top.id.in_([area.id for area in areas]))
        .group_by(top.id)
    )
    counts = dict((await session.execute(query)).all())
    return {area.id: counts.get(area.id, 0) for area in areas}
