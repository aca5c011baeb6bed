"""Benchmark (not a test): the desk's province overview and a commune page over HTTP.

    .venv/bin/python bench/desk.py [--households 200000] [--postgres URL]

Builds the data of bench/report.py (1 province → 20 communes → 400 hamlets, 200,000 households
with members, readings, pledges, tips and broadcasts), serves the desk as `binhyen run` mounts
it, logs the demo admin in through a one-time link, and times GET of the province overview and
of a commune's overview (every target, the areas below), warm (best of several after one
request), each as a ratio to the baseline scan of bench/report.py measured in the same run, and
the first (cold) request of each. Reports are kept 60 s (desk/context.py, ReportCache).
Target: a warm province overview under 300 ms.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from base.settings import load_settings  # noqa: E402
from bench.report import fill  # noqa: E402
from bench.scratch import scratch_postgres  # noqa: E402
from bot.app import build_app  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Household  # noqa: E402
from db.session import make_engine, make_sessionmaker  # noqa: E402
from testkit.desk import start_desk  # noqa: E402


async def best(work, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await work()
        times.append(time.perf_counter() - start)
    return min(times)


async def measure(name: str, url: str, households: int) -> None:
    print(f"{name}:")
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    await fill(sessionmaker, households)
    if url.startswith("postgresql"):
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()

    async def baseline() -> None:
        async with sessionmaker() as session:
            await session.execute(select(Household.hamlet_id, func.count()).group_by(Household.hamlet_id))

    await baseline()
    base = await best(baseline, 3)
    await engine.dispose()
    app = await build_app(load_settings(database_url=url, telegram_token=None, redis_url=None))
    desk = await start_desk(app)
    try:
        await desk.login("console", "4")  # the demo admin, of the whole province
        for label, path in (("province overview", "/area/DEMO"), ("commune overview", "/area/DEMO-07")):
            async def page(path=path) -> None:
                answer = await desk.get(path)
                assert answer.status == 200, answer.status
                await answer.read()

            first = await best(page, 1)
            took = await best(page, 5)
            print(f"  {label}, first request: {first:.3f} s = {first / base:.1f} × baseline")
            target = "  (target < 0.300 s)" if path == "/area/DEMO" else ""
            print(f"  {label}: {took:.3f} s = {took / base:.1f} × baseline{target}")
        print(f"  baseline (grouped scan of households): {base:.3f} s")
    finally:
        await desk.close()
        await desk.server.close()
        await app.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a scratch database is created and dropped")
    args = parser.parse_args()
    if not args.postgres:
        with tempfile.TemporaryDirectory() as folder:
            await measure("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db", args.households)
        return
    async with scratch_postgres(args.postgres, "binhyen_desk") as url:
        await measure("PostgreSQL", url, args.households)

if __name__ == "__main__":
    asyncio.run(main())
