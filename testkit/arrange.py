"""Arranging data for tests: a small area tree with households and an open campaign."""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from db.models import Area, Campaign, Household, Member
from db.services.areas import add_area
from db.services.campaigns import create_campaign
from db.text import fold


def local_today() -> date:
    """Today where the bot is (Asia/Ho_Chi_Minh): the bot's campaigns and dates use it, and in
    the evening UTC it is already tomorrow there."""
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()


HEADS = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Đức", "Phạm Thị Hồng", "Võ Văn Tám"]


@dataclass
class Tree:
    """Province P → communes C1, C2 → hamlets H11, H12 (in C1), H21 (in C2)."""

    province: Area
    c1: Area
    c2: Area
    h11: Area
    h12: Area
    h21: Area
    campaign: Campaign | None
    households: dict[str, list[Household]]


async def add_households(session, hamlet: Area, heads: list[str], prefix: str = "H") -> list[Household]:
    households = []
    for number, head in enumerate(heads, start=1):
        household = Household(hamlet_id=hamlet.id, code=f"{prefix}{number:03d}", head_name=head,
                              head_name_key=fold(head), address=f"Số {number}, {hamlet.name}", size=4)
        session.add(household)
        households.append(household)
    await session.flush()
    return households


async def tree(session, year: int | None = local_today().year, heads: list[str] = HEADS) -> Tree:
    """The tree, five households in H11 and two in H21, a campaign of `year` (None: no campaign),
    committed so the bot sees it."""
    province = await add_area(session, "P", "Tỉnh Thử", "province", None)
    c1 = await add_area(session, "C1", "Xã Tân Hòa", "commune", province)
    c2 = await add_area(session, "C2", "Xã Bình Thạnh", "commune", province)
    h11 = await add_area(session, "H11", "Ấp Bình Long", "hamlet", c1)
    h12 = await add_area(session, "H12", "Ấp Tân Phú", "hamlet", c1)
    h21 = await add_area(session, "H21", "Ấp Hòa Bình", "hamlet", c2)
    households = {
        "H11": await add_households(session, h11, heads),
        "H21": await add_households(session, h21, ["Đặng Văn Lộc", "Bùi Thị Mai"]),
    }
    campaign = None
    if year is not None:
        campaign = await create_campaign(session, province, year, f"Phong trào năm {year}",
                                         pledge_version="2026.1")
    await session.commit()
    return Tree(province, c1, c2, h11, h12, h21, campaign, households)


async def hamlet_of_members(session, recipients: int, first_chat: int) -> Area:
    """Province B → commune B-1 → hamlet B-1-1 with `recipients` households, each with one
    member on Telegram (chat ids from `first_chat` on), inserted in bulk and committed: the
    audience of a large broadcast."""
    province = await add_area(session, "B", "Tỉnh Thử", "province", None)
    commune = await add_area(session, "B-1", "Xã Thử", "commune", province)
    hamlet = await add_area(session, "B-1-1", "Ấp Thử", "hamlet", commune)
    await session.execute(insert(Household), [
        {"hamlet_id": hamlet.id, "code": f"H{n}", "head_name": "Hộ thử", "head_name_key": "ho thu",
         "address": "", "size": 1} for n in range(recipients)])
    households = list(await session.scalars(
        select(Household.id).where(Household.hamlet_id == hamlet.id).order_by(Household.id)))
    await session.execute(insert(Member), [
        {"channel": "telegram", "user_id": str(first_chat + n), "household_id": household,
         "role": "resident"} for n, household in enumerate(households)])
    await session.commit()
    return hamlet


def committed_rows(url: str, statement) -> list:
    """Every row of `statement` in the database at `url`, read on a connection of its own: for
    tests that drive the synchronous CLI (`binhyen …`) and then look at what it committed."""
    import asyncio

    from db.session import make_engine, make_sessionmaker

    async def run() -> list:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                return list((await session.execute(statement)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def committed_count(url: str, model, *where) -> int:
    """How many rows of `model` the database at `url` holds now (see committed_rows)."""
    from sqlalchemy import func

    return committed_rows(url, select(func.count()).select_from(model).where(*where))[0][0]
