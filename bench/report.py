"""Benchmark (not a test): tallies sync and a commune report on 200,000 households.

    .venv/bin/python bench/report.py [--households 200000] [--postgres URL]

Builds 1 province → 20 communes → 400 hamlets with realistic members, readings, quiz
attempts and pledges, then times `tallies sync` (every area, every indicator, stored) and
the report of one commune (tallies + xlsx). Each figure is also printed as a ratio to a
baseline measured in the same run on the same database: one grouped scan of the
households table (SELECT hamlet_id, count(*) ... GROUP BY hamlet_id).
Targets: sync under 5 s, commune report under 2 s.
"""

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bot.i18n import make_i18n, use_locale  # noqa: E402
from bot.reports.build import build_report  # noqa: E402
from bot.reports.xlsx import write_xlsx  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Area, Campaign, Household, Member, Pledge, QuizAttempt, Reading  # noqa: E402
from db.services.demo import load_demo  # noqa: E402
from db.services.tallies import sync_tallies  # noqa: E402
from db.session import make_engine, make_sessionmaker  # noqa: E402


def local_today() -> date:
    """Today in Vietnam, the day the bot's campaigns are dated by."""
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()

BATCH = 10_000


async def fill(sessionmaker, households: int) -> None:
    """The demo tree with activity: 60% of households on the bot, 72% reached, 85% pledged."""
    rng = random.Random(7)
    year = local_today().year
    async with sessionmaker() as session, session.begin():
        await load_demo(session, households, year, communes=20, hamlets_per_commune=20)
    async with sessionmaker() as session, session.begin():
        campaign = await session.scalar(select(Campaign))
        ids = list(await session.scalars(select(Household.id).order_by(Household.id)))
        now = datetime.now(timezone.utc)
        members, readings, pledges, quizzes = [], [], [], []
        for number, household_id in enumerate(ids):
            if rng.random() < 0.6:
                members.append({"channel": "telegram", "user_id": str(10_000_000 + number),
                                "household_id": household_id, "role": "resident", "created_at": now})
            if rng.random() < 0.72:
                readings.append({"household_id": household_id, "campaign_id": campaign.id,
                                 "article_id": rng.choice(["ma-tuy", "lua-dao-cong-nghe-cao", "trom-cap"]),
                                 "article_version": "1", "read_at": now, "member_id": None})
            if rng.random() < 0.85:
                pledges.append({"household_id": household_id, "campaign_id": campaign.id,
                                "status": "confirmed", "pledge_version": "2026.1", "locale": "vi",
                                "confirmed_by_role": "resident", "confirmed_at": now})
            if rng.random() < 0.2:
                quizzes.append({"household_id": household_id, "campaign_id": campaign.id,
                                "article_id": "ma-tuy", "article_version": "1", "answers": [],
                                "score": rng.randint(1, 3), "total": 3, "started_at": now,
                                "finished_at": now})
        for model, rows in ((Member, members), (Reading, readings), (Pledge, pledges), (QuizAttempt, quizzes)):
            for start in range(0, len(rows), BATCH):
                await session.execute(insert(model), rows[start:start + BATCH])
    print(f"  data: {len(ids):,} households, {len(members):,} members, {len(readings):,} readings, "
          f"{len(pledges):,} pledges, {len(quizzes):,} quiz attempts")


async def timed(work) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


async def measure(name: str, url: str, households: int, **engine_args) -> None:
    print(f"{name}:")
    engine = make_engine(url, **engine_args)
    try:
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        start = time.perf_counter()
        await fill(sessionmaker, households)
        print(f"  loading took {time.perf_counter() - start:.1f} s")
        if url.startswith("postgresql"):
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
                await connection.commit()

        async def baseline() -> None:
            async with sessionmaker() as session:
                await session.execute(select(Household.hamlet_id, func.count()).group_by(Household.hamlet_id))

        async def sync() -> None:
            async with sessionmaker() as session, session.begin():
                campaign = await session.scalar(select(Campaign))
                await sync_tallies(session, campaign, local_today())

        async def commune_report() -> None:
            async with sessionmaker() as session:
                commune = await session.scalar(select(Area).where(Area.code == "DEMO-07"))
                with use_locale(make_i18n("vi"), "vi"):
                    report = await build_report(session, commune, local_today())
                    with tempfile.TemporaryDirectory() as folder:
                        write_xlsx(report, Path(folder) / "r.xlsx")

        await baseline()  # warm the caches once, as a running server would have them
        base = min([await timed(baseline) for _ in range(3)])
        sync_time = min([await timed(sync) for _ in range(2)])
        report_time = min([await timed(commune_report) for _ in range(3)])
        print(f"  baseline (grouped scan of households): {base:.3f} s")
        print(f"  tallies sync:   {sync_time:.3f} s  = {sync_time / base:.1f} × baseline  (target < 5 s)")
        print(f"  commune report: {report_time:.3f} s  = {report_time / base:.1f} × baseline  (target < 2 s)")
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (postgresql+asyncpg://...); a "
                        "scratch database is created and dropped on it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        await measure("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db", args.households)
    if args.postgres:
        name = f"binhyen_bench_{int(time.time())}"
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            from sqlalchemy.engine import make_url

            await measure("PostgreSQL", make_url(args.postgres).set(database=name).render_as_string(False),
                          args.households)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
