"""Benchmark (not a test): tallies sync and a commune report on 200,000 households.

    .venv/bin/python bench/report.py [--households 200000] [--postgres URL]

Builds 1 province → 20 communes → 400 hamlets with realistic members (some households with
two or three), readings (several per household), quiz attempts, pledges, a few hundred tips
of every kind (some handled) and broadcasts to every hamlet and commune with one delivery
per member in mixed states, then times `tallies sync` (every area, every indicator, stored)
and the report of one commune (tallies + xlsx): in process with warm caches, and as the real
`binhyen tallies sync` and `binhyen report` commands in a new process (cold). Each figure is
also printed as a ratio to a baseline measured in the same run on the same database: one
grouped scan of the households table (SELECT hamlet_id, count(*) ... GROUP BY hamlet_id).
Targets: sync under 5 s, commune report under 2 s.
"""

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from base.i18n import make_i18n, use_locale  # noqa: E402
from base.reports.build import build_report  # noqa: E402
from base.reports.xlsx import write_xlsx  # noqa: E402
from bench.scratch import scratch_postgres  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import (  # noqa: E402
    TIP_KINDS,
    Area,
    Broadcast,
    Campaign,
    Delivery,
    Household,
    Member,
    Pledge,
    QuizAttempt,
    Reading,
    Tip,
)
from db.services.demo import load_demo  # noqa: E402
from db.services.tallies import sync_tallies  # noqa: E402
from db.session import make_engine, make_sessionmaker  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_today() -> date:
    """Today in Vietnam, the day the bot's campaigns are dated by."""
    return datetime.now(TZ).date()

BATCH = 10_000
ARTICLES = ["ma-tuy", "lua-dao-cong-nghe-cao", "trom-cap", "bao-luc-gia-dinh", "to-giac-toi-pham"]
# What a delivery ends as: mostly sent, some unreachable (blocked the bot) or failed, some waiting.
DELIVERY_OUTCOMES = ["sent"] * 85 + ["unreachable"] * 5 + ["failed"] * 3 + ["pending"] * 7
TIP_STATUS_MIX = ["received"] * 3 + ["checking"] * 2 + ["handled"] * 3 + ["closed"] * 2


async def insert_all(session, model, rows: list[dict]) -> None:
    """Insert rows in batches."""
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(model), rows[start:start + BATCH])


async def fill(sessionmaker, households: int) -> None:
    """The demo tree with activity: 60% of households on the bot (some with two or three members),
    72% reached (one to four articles read each), 85% pledged, 20% with a quiz, a few hundred
    tips of every kind (some handled), and broadcasts to every hamlet and commune with one
    delivery per member on the bot, in mixed states."""
    rng = random.Random(7)
    year = local_today().year
    async with sessionmaker() as session, session.begin():
        await load_demo(session, households, year, communes=20, hamlets_per_commune=20)
    async with sessionmaker() as session, session.begin():
        campaign = await session.scalar(select(Campaign))
        homes = (await session.execute(select(Household.id, Household.hamlet_id).order_by(Household.id))).all()
        now = datetime.now(timezone.utc)
        members = []
        for number, (household_id, _hamlet) in enumerate(homes):
            if rng.random() < 0.6:
                extra = rng.choices([0, 1, 2], weights=[80, 15, 5])[0]
                for seat in range(1 + extra):
                    members.append({"channel": "zalo" if seat % 2 else "telegram",
                                    "user_id": str(10_000_000 + number * 4 + seat),
                                    "household_id": household_id, "role": "resident", "created_at": now})
        await insert_all(session, Member, members)
        member_rows = (await session.execute(select(Member.id, Member.household_id, Member.channel,
                                                    Member.user_id).where(Member.household_id.is_not(None)))).all()
        first_member = {}
        for member_id, household_id, _channel, _user in member_rows:
            first_member.setdefault(household_id, member_id)
        readings, pledges, quizzes = [], [], []
        for household_id, _hamlet in homes:
            if rng.random() < 0.72:
                member_id = first_member.get(household_id)
                for article in rng.sample(ARTICLES, rng.randint(1, 4)):
                    readings.append({"household_id": household_id, "campaign_id": campaign.id,
                                     "article_id": article, "article_version": "1", "read_at": now,
                                     "member_id": member_id})
            if rng.random() < 0.85:
                pledges.append({"household_id": household_id, "campaign_id": campaign.id,
                                "status": "confirmed", "pledge_version": "2026.1", "locale": "vi",
                                "confirmed_by_role": "resident", "confirmed_at": now})
            if rng.random() < 0.2:
                quizzes.append({"household_id": household_id, "campaign_id": campaign.id,
                                "article_id": "ma-tuy", "article_version": "1", "answers": [],
                                "score": rng.randint(1, 3), "total": 3, "started_at": now,
                                "finished_at": now})
        for model, rows in ((Reading, readings), (Pledge, pledges), (QuizAttempt, quizzes)):
            await insert_all(session, model, rows)
        areas = list(await session.scalars(select(Area.id).where(Area.level.in_(("commune", "hamlet")))))
        tips = [{"area_id": rng.choice(areas), "kind": rng.choice(TIP_KINDS),
                 "status": rng.choice(TIP_STATUS_MIX), "sealed": b"x", "code_hash": f"bench{n}",
                 "code_salt": b"s" * 16, "reply_key": b"k" * 32,
                 "created_at": now.replace(minute=0, second=0, microsecond=0)}
                for n in range(max(200, households // 500))]
        await insert_all(session, Tip, tips)
        # One broadcast per hamlet and per commune, one delivery to each member below it.
        hamlet_of = {household_id: hamlet for household_id, hamlet in homes}
        parent_of = dict((await session.execute(select(Area.id, Area.parent_id))).all())
        audience: dict[int, list] = {}  # area id → the members of its households
        for member in member_rows:
            hamlet = hamlet_of[member[1]]
            for area_id in (hamlet, parent_of[hamlet]):
                audience.setdefault(area_id, []).append(member)
        broadcasts = [{"area_id": area_id, "audience": "all", "text": "Họp dân", "status": "done",
                       "send_at": now, "recipients": 0, "created_at": now} for area_id in areas]
        await insert_all(session, Broadcast, broadcasts)
        sent = (await session.execute(select(Broadcast.id, Broadcast.area_id))).all()
        deliveries = [{"source": f"broadcast:{broadcast_id}", "broadcast_id": broadcast_id,
                       "member_id": member_id, "channel": channel, "chat_id": user_id, "text": "Họp dân",
                       "status": rng.choice(DELIVERY_OUTCOMES), "next_attempt_at": now, "created_at": now}
                      for broadcast_id, area_id in sent
                      for member_id, _household, channel, user_id in audience.get(area_id, [])]
        await insert_all(session, Delivery, deliveries)
    print(f"  data: {len(homes):,} households, {len(members):,} members, {len(readings):,} readings, "
          f"{len(pledges):,} pledges, {len(quizzes):,} quiz attempts, {len(tips):,} tips, "
          f"{len(broadcasts):,} broadcasts, {len(deliveries):,} deliveries")


def cold(url: str, *command: str) -> float:
    """The wall time of a real `binhyen` command in a fresh process (imports, connection and all);
    with no command, of the start alone (importing the CLI: aiogram, pydantic, SQLAlchemy)."""
    with tempfile.TemporaryDirectory() as folder:
        argv = [part.replace("{folder}", folder) for part in command]
        program = ["-m", "bot.cli.main", *argv] if argv else ["-c", "import bot.cli.main"]
        start = time.perf_counter()
        subprocess.run([sys.executable, *program], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "BINHYEN_DATABASE_URL": url, "BINHYEN_LOG_LEVEL": "WARNING"})
        return time.perf_counter() - start


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
                await sync_tallies(session, campaign, local_today(), TZ)

        async def commune_report() -> None:
            async with sessionmaker() as session:
                commune = await session.scalar(select(Area).where(Area.code == "DEMO-07"))
                with use_locale(make_i18n("vi"), "vi"):
                    report = await build_report(session, commune, local_today(), TZ)
                    with tempfile.TemporaryDirectory() as folder:
                        write_xlsx(report, Path(folder) / "r.xlsx")

        await baseline()  # warm the caches once, as a running server would have them
        base = min([await timed(baseline) for _ in range(3)])
        sync_time = min([await timed(sync) for _ in range(2)])
        report_time = min([await timed(commune_report) for _ in range(3)])
        start_cold = cold(url)
        sync_cold = cold(url, "tallies", "sync")
        report_cold = cold(url, "report", "--area", "DEMO-07", "--format", "xlsx", "--out", "{folder}/r.xlsx")
        print(f"  baseline (grouped scan of households): {base:.3f} s")
        print("  in process, warm (best of several):")
        print(f"    tallies sync:   {sync_time:.3f} s  = {sync_time / base:.1f} × baseline  (target < 5 s)")
        print(f"    commune report: {report_time:.3f} s  = {report_time / base:.1f} × baseline  (target < 2 s)")
        print("  `binhyen` commands in a new process, cold (start, imports and connection included):")
        print(f"    binhyen tallies sync:         {sync_cold:.3f} s  = {sync_cold / base:.1f} × baseline")
        print(f"    binhyen report (commune xlsx): {report_cold:.3f} s  = {report_cold / base:.1f} × baseline")
        print(f"    of which the start alone (import bot.cli.main): {start_cold:.3f} s")
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
        async with scratch_postgres(args.postgres, "binhyen_bench") as url:
            await measure("PostgreSQL", url, args.households)

if __name__ == "__main__":
    asyncio.run(main())
