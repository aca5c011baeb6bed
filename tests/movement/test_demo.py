"""`binhyen demo-data` builds a province in the middle of a campaign, so a newcomer's first report,
/stats and chart show something real; `--bare` keeps the empty tree."""

from sqlalchemy import distinct, func, select

from bot.cli.main import main
from db.models import (
    Broadcast,
    Campaign,
    Delivery,
    Household,
    Member,
    Milestone,
    MovementModel,
    Organization,
    OrganizationRegistration,
    Pledge,
    QuizAttempt,
    Reading,
    Recognition,
    Tally,
    Tip,
)
from db.services.demo import load_demo
from db.services.tip_sealing import key_text
from testkit.arrange import local_today
from testkit.fakes import ChatDriver, count, fetch
from testkit.hostile import OFFICERS_KEY, TIP_SECRET

YEAR = local_today().year


def test_the_demo_is_the_middle_of_a_campaign(database_url, monkeypatch, capsys):
    import asyncio

    from db.session import make_engine, make_read_sessionmaker

    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.setenv("BINHYEN_TIP_PUBLIC_KEY", key_text(OFFICERS_KEY.public_key))
    monkeypatch.setenv("BINHYEN_TIP_SECRET", TIP_SECRET)
    assert main(["demo-data", "--households", "120", "--communes", "3", "--hamlets", "4"]) == 0
    out = capsys.readouterr().out
    assert "120 hộ" in out and "6 tin báo" in out

    async def check(session) -> None:
        scalar = session.scalar
        assert await scalar(select(func.count()).select_from(Member).where(Member.role == "resident")) > 30
        assert await scalar(select(func.count()).select_from(Reading)) > 0
        assert await scalar(select(func.count()).select_from(QuizAttempt)) > 0
        # Pledges differ by hamlet: some all done, some far behind.
        shares = []
        for hamlet_id, total in (await session.execute(
                select(Household.hamlet_id, func.count()).group_by(Household.hamlet_id))).all():
            pledged = await scalar(select(func.count()).select_from(Pledge).join(Household).where(
                Household.hamlet_id == hamlet_id))
            shares.append(pledged / total)
        assert max(shares) == 1.0 and min(shares) < 0.5
        tips = list(await session.scalars(select(Tip)))
        assert len(tips) == 6 and not any(b"ma t" in tip.sealed for tip in tips)
        assert {b.status for b in await session.scalars(select(Broadcast))} == {"done"}
        assert await scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) > 0
        assert await scalar(select(func.count()).select_from(Organization)) == 9
        assert 0 < await scalar(select(func.count()).select_from(OrganizationRegistration)) < 9
        assert await scalar(select(func.count(distinct(MovementModel.type_id)))) >= 5
        assert await scalar(select(func.count(distinct(MovementModel.status)))) >= 3
        last = await scalar(select(Campaign).where(Campaign.year == YEAR - 1))
        results = dict((await session.execute(select(Recognition.result, func.count()).where(
            Recognition.campaign_id == last.id).group_by(Recognition.result))).all())
        assert results["passed"] > results["failed"] > 0
        assert await scalar(select(func.count()).select_from(Milestone)) >= 5
        assert await scalar(select(func.count(distinct(Tally.day)))) >= 2

    async def run() -> None:
        engine = make_engine(database_url)
        async with make_read_sessionmaker(engine)() as session:
            await check(session)
        await engine.dispose()

    asyncio.run(run())


def test_bare_keeps_the_empty_tree(database_url, monkeypatch, capsys):
    import asyncio

    from db.session import make_engine, make_read_sessionmaker

    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["demo-data", "--households", "30", "--bare"]) == 0
    assert "Giữa đợt thi đua" not in capsys.readouterr().out

    async def run() -> None:
        engine = make_engine(database_url)
        async with make_read_sessionmaker(engine)() as session:
            for model in (Pledge, Reading, Organization, MovementModel, Recognition, Broadcast, Tally):
                assert await session.scalar(select(func.count()).select_from(model)) == 0, model
            assert await session.scalar(select(func.count()).select_from(Household)) == 30
            assert await session.scalar(select(func.count()).select_from(Member)) == 3  # the demo staff
        await engine.dispose()

    asyncio.run(run())


async def test_the_demo_admins_first_stats_show_the_campaign(app, session):
    await load_demo(session, households=80, year=YEAR, communes=2, hamlets_per_commune=3, bare=False,
                    today=local_today())
    await session.commit()
    console = ChatDriver(app, channel="console")
    [numbers, _chart] = await console.send("/stats", user_id=4)
    assert "Hộ ký cam kết: 0" not in numbers and "Cơ quan, doanh nghiệp, trường học đăng ký phong trào: " in numbers
    [listing] = await console.send("/recognition", user_id=3)  # the first commune's officer
    assert "đang xét" in listing
    assert await count(session, Recognition) > 0
    assert (await fetch(session, select(func.count()).select_from(Pledge))) > 0
