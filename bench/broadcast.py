"""Benchmark: deliver a broadcast of 5,000 messages through the real worker process to a fake
Telegram Bot API on 127.0.0.1 that answers 429 above 30 messages per second.

It prints the achieved messages per second as a ratio of BINHYEN_TELEGRAM_RATE (target ≥ 0.95),
the 429s received, and duplicates and losses counted at the fake server (target 0 and 0); then it
repeats with the worker killed (SIGKILL) halfway and restarted, and prints duplicates and losses
again. The worker is `binhyen run --role worker` in a child process.

    .venv/bin/python -m bench.broadcast                       # SQLite in a temporary folder
    .venv/bin/python -m bench.broadcast --database postgresql+asyncpg://postgres@127.0.0.1/bench

A PostgreSQL database is emptied and migrated first. Two runs at 25 msgs/s take about 7 minutes.
`--messages 50` is a quick smoke run. A run stops with a message (exit status 1) when the worker
process dies on its own or the run takes longer than `--timeout` seconds (by default twice the
time the configured rate needs, plus two minutes), instead of waiting forever.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from base.i18n import make_i18n, translator
from db.migrate import upgrade
from db.services.areas import require_area
from db.services.broadcasts import create_broadcast
from db.services.deliveries import outstanding
from db.session import is_sqlite, make_engine, make_sessionmaker
from testkit.arrange import hamlet_of_members
from testkit.fake_telegram import FakeTelegram

TOKEN = "123456:BENCHtokenBENCHtokenBENCHtoken"
FIRST_CHAT = 10_000_001
# After a SIGKILL the dead worker's rows wait for its lease (30 s) before they are sent again.
LEASE_SECONDS = 30


class BenchFailed(Exception):
    """The run cannot finish: the message says why."""


async def prepare(url: str, recipients: int) -> None:
    """A migrated database with one hamlet of `recipients` Telegram members."""
    engine = make_engine(url)
    if not is_sqlite(url):
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    async with make_sessionmaker(engine)() as session:
        await hamlet_of_members(session, recipients, FIRST_CHAT)
    await engine.dispose()


async def enqueue(url: str, label: str) -> str:
    """A broadcast to the hamlet, expanded into its deliveries; returns its source key."""
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session, session.begin():
        area = await require_area(session, "B-1-1")
        broadcast = await create_broadcast(
            session, None, area, "all", f"Bench {label}", None, True, datetime.now(timezone.utc),
            ZoneInfo("Asia/Ho_Chi_Minh"), None, translator(make_i18n("vi")))
    await engine.dispose()
    return f"broadcast:{broadcast.id}"


def start_worker(url: str, api_base: str, rate: float, log: Path) -> subprocess.Popen:
    """`binhyen run --role worker` in a child process."""
    env = {**os.environ, "BINHYEN_DATABASE_URL": url, "BINHYEN_TELEGRAM_TOKEN": TOKEN,
           "BINHYEN_TELEGRAM_API_BASE": api_base, "BINHYEN_TELEGRAM_RATE": str(rate),
           "BINHYEN_QUIET_HOURS": "off", "BINHYEN_LOG_LEVEL": "WARNING"}
    env.pop("BINHYEN_WEBHOOK_URL", None)
    return subprocess.Popen([sys.executable, "-m", "bot.cli.main", "run", "--role", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("a"))


async def left(url: str, source: str) -> int:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        count, _ = await outstanding(session, ["telegram"], source)
    await engine.dispose()
    return count


async def run_once(url: str, server: FakeTelegram, recipients: int, rate: float, crash: bool,
                   log: Path, timeout: float) -> dict:
    """Deliver one broadcast; with `crash`, SIGKILL the worker halfway and start another.
    Raises BenchFailed when the worker dies by itself or the run outlasts `timeout` seconds."""
    server.delivered.clear()
    server.too_many = 0
    source = await enqueue(url, "crash" if crash else "plain")
    worker = start_worker(url, server.base, rate, log)
    first = last = None
    killed = False
    deadline = time.monotonic() + timeout
    try:
        while True:
            if worker.poll() is not None:
                raise BenchFailed(f"the worker process exited by itself (status {worker.returncode}) "
                                  f"after {sum(server.delivered.values())} messages; see {log}")
            if time.monotonic() > deadline:
                raise BenchFailed(f"no end after {timeout:g} s: {len(server.delivered)} of "
                                  f"{recipients} recipients reached, {await left(url, source)} rows "
                                  f"left; see {log} (or raise --timeout)")
            delivered = sum(server.delivered.values())
            if delivered and first is None:
                first = time.monotonic()
            if crash and not killed and delivered >= recipients // 2:
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                killed = True
                print(f"  worker killed (SIGKILL) after {delivered} messages; restarting", flush=True)
                worker = start_worker(url, server.base, rate, log)
            if len(server.delivered) >= recipients and last is None:
                last = time.monotonic()
            if last is not None and await left(url, source) == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait()
    counts = [server.delivered.get(FIRST_CHAT + n, 0) for n in range(recipients)]
    return {
        "seconds": last - first,
        "rate": (recipients - 1) / (last - first),
        "too_many": server.too_many,
        "duplicates": sum(max(0, c - 1) for c in counts),
        "losses": sum(1 for c in counts if c == 0),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="async database URL (default: SQLite in a temp folder)")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=25.0, help="BINHYEN_TELEGRAM_RATE")
    parser.add_argument("--flood", type=int, default=30, help="the fake server's 429 threshold")
    parser.add_argument("--timeout", type=float,
                        help="seconds a run may take (default: twice what the rate needs + 120)")
    args = parser.parse_args()
    timeout = args.timeout or 2 * args.messages / args.rate + 120
    folder = Path(tempfile.mkdtemp(prefix="binhyen-bench-"))
    url = args.database or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    log = folder / "worker.log"
    print(f"database: {url.split('@')[-1]}; worker log: {log}")
    await prepare(url, args.messages)
    server = await FakeTelegram().start()
    server.flood_limit = args.flood
    try:
        for crash in (False, True):
            print(f"{'crash and resume' if crash else 'steady'}: {args.messages} messages at "
                  f"{args.rate:g} msgs/s configured, 429 above {args.flood}/s", flush=True)
            try:
                result = await run_once(url, server, args.messages, args.rate, crash, log,
                                        timeout + (LEASE_SECONDS if crash else 0))
            except BenchFailed as failure:
                print(f"  stopped: {failure}", file=sys.stderr, flush=True)
                raise SystemExit(1) from None
            if not crash:
                print(f"  {result['seconds']:.1f} s, {result['rate']:.2f} msgs/s = "
                      f"{result['rate'] / args.rate:.3f} of the configured rate; "
                      f"429s received: {result['too_many']}")
            print(f"  duplicates: {result['duplicates']}, losses: {result['losses']}", flush=True)
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
