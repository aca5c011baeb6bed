"""Benchmark (not a test): updates per second of the full bot against a bare aiogram dispatcher.

    .venv/bin/python bench/updates.py [--updates 20000] [--postgres URL] [--profile]

In one run, on SQLite and (with --postgres) on PostgreSQL:
  (a) a bare aiogram Dispatcher with one empty handler;
  (b) the full bot (every middleware, the database, i18n, FSM) on two paths:
      pledge-confirm — a member presses "✅ Hộ tôi xác nhận cam kết" (a pledge row is written);
      tip-submit    — a tipster presses "Gửi" on a finished tip draft (the tip is sealed, its
                      receipt code derived with argon2id, and stored).
The bare dispatcher and the pledge path get --updates distinct updates (20,000), the tip path
--tip-updates (2,000: each derives its receipt key for ~60 ms), fed 64 at a time as long
polling does, through a Bot API session that answers at once (no network). It prints
updates/s and b/a.
Then it prints the peak memory of a bot process with 100,000 households loaded.
Target: b/a ≥ 0.25 on PostgreSQL; peak memory under 200 MB.
"""

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import base  # noqa: E402,F401 - first, as the bot starts: aiogram models built on use

# isort: split
from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.client.session.base import BaseSession  # noqa: E402
from aiogram.fsm.storage.base import StorageKey  # noqa: E402
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod  # noqa: E402
from aiogram.types import Chat, Message, Update  # noqa: E402
from nacl.public import PrivateKey  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from base.settings import load_settings  # noqa: E402
from bot.app import build_app  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Area, Household, Member  # noqa: E402
from db.services.demo import load_demo  # noqa: E402
from db.services.tip_sealing import key_text  # noqa: E402
from db.session import make_engine, make_sessionmaker  # noqa: E402
from handlers.tips.submit import TipForm, TipStep  # noqa: E402

TOKEN = "123456:BENCH-token-0123456789abcdefghij"
CONCURRENCY = 64
FIRST_USER = 10_000_000


def local_today() -> date:
    """Today in Vietnam, the day the bot's campaigns are dated by."""
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()


class InstantSession(BaseSession):
    """A Bot API that answers every call at once, without a network."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def make_request(self, bot: Bot, method: TelegramMethod, timeout: int | None = None):
        self.calls += 1
        if isinstance(method, SendMessage):
            return Message(message_id=self.calls, date=datetime.now(timezone.utc),
                           chat=Chat(id=int(method.chat_id), type="private"), text=method.text)
        if isinstance(method, AnswerCallbackQuery):
            return True
        return True

    async def close(self) -> None:
        pass

    async def stream_content(self, *args, **kwargs):  # pragma: no cover - never called
        raise NotImplementedError


def callback(update_id: int, user_id: int, data: str) -> dict:
    """A raw callback-query update, as Telegram sends it."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id), "chat_instance": "bench", "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": "Bà con"},
            "message": {"message_id": 1, "date": 1_790_000_000, "text": "…",
                        "chat": {"id": user_id, "type": "private"}},
        },
    }


async def feed_all(dispatcher: Dispatcher, bot: Bot, updates: list[dict], **data) -> float:
    """Feed the raw updates, CONCURRENCY at a time; returns the elapsed seconds."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(raw: dict) -> None:
        async with semaphore:
            await dispatcher.feed_update(bot, Update.model_validate(raw, context={"bot": bot}), **data)

    start = time.perf_counter()
    await asyncio.gather(*(one(raw) for raw in updates))
    return time.perf_counter() - start


async def bare(count: int) -> float:
    """(a) updates/s of a bare dispatcher with an empty handler."""
    dispatcher = Dispatcher()

    async def empty(_event) -> None:
        return None

    dispatcher.callback_query.register(empty)
    bot = Bot(TOKEN, session=InstantSession())
    updates = [callback(n, FIRST_USER + n, "pledge:confirm") for n in range(1, count + 1)]
    return count / await feed_all(dispatcher, bot, updates)


async def prepare(url: str, households: int) -> None:
    """A migrated database with the demo province and one consented member per household."""
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await load_demo(session, households, local_today().year, communes=10, hamlets_per_commune=10)
    async with sessionmaker() as session, session.begin():
        ids = list(await session.scalars(select(Household.id).order_by(Household.id)))
        now = datetime.now(timezone.utc)
        rows = [{"channel": "telegram", "user_id": str(FIRST_USER + n), "household_id": household_id,
                 "role": "resident", "consent_at": now, "consent_version": "2026.1", "created_at": now}
                for n, household_id in enumerate(ids)]
        for start in range(0, len(rows), 10_000):
            await session.execute(insert(Member), rows[start:start + 10_000])
    if url.startswith("postgresql"):
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    await engine.dispose()


async def full_bot(url: str, count: int, profile: bool, first: int = 0, tips: int | None = None,
                   after_start=lambda: None, after_pledges=lambda: None) -> tuple[float, float]:
    """(b) updates/s of the whole bot on the pledge-confirm path (`count` updates) and the
    tip-submit path (`tips` updates, default `count`)."""
    tips = count if tips is None else tips
    officers = PrivateKey.generate()
    settings = load_settings(
        database_url=url, telegram_token=None, redis_url=None,
        tip_public_key=key_text(officers.public_key), tip_secret="bench-secret-" + "x" * 32,
        tip_limit_per_sender_day=10, tip_limit_per_hour=10 * count + 10,
    )
    app = await build_app(settings)
    bot = Bot(TOKEN, session=InstantSession(), default=DefaultBotProperties(parse_mode="HTML"))
    after_start()
    try:
        users = range(first + 1, first + count + 1)
        pledges = [callback(n, FIRST_USER + n, "pledge:confirm") for n in users]
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        pledge_rate = count / await feed_all(app.dispatcher, bot, pledges, channel="telegram")
        after_pledges()
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        async with app.sessionmaker() as session:
            area_id = await session.scalar(select(Area.id).where(Area.code == "DEMO-01-01"))
        started = datetime.now(timezone.utc).timestamp()
        storage = app.dispatcher.storage
        tippers = range(first + 1, first + tips + 1)
        for n in tippers:
            key = StorageKey(bot_id=bot.id, chat_id=FIRST_USER + n, user_id=FIRST_USER + n)
            await storage.set_state(key, TipForm.confirm)
            await storage.set_data(key, {"started": started, "kind": "theft", "area_id": area_id,
                                         "when_choice": "today",
                                         "text": f"Có người lạ rình nhà số {n} trong ấp vào ban đêm."})
        send = TipStep(action="send").pack()
        sends = [callback(first + count + n, FIRST_USER + n, send) for n in tippers]
        tip_rate = tips / await feed_all(app.dispatcher, bot, sends, channel="telegram")
        return pledge_rate, tip_rate
    finally:
        await app.close()


def peak_memory(households: int) -> tuple[float, float, float]:
    """Peak RSS (MB) of a bot process on a database of `households` households (loaded
    beforehand by another process): once started, after a few hundred pledge updates, and
    after as many tips (whose receipt-code derivation holds 64 MiB while it runs)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/memory.db"
        asyncio.run(prepare(url, households))
        code = f"""
import asyncio, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
import bench.updates as bench
peaks = []
def mark():
    peaks.append(bench.high_water_mb())
asyncio.run(bench.full_bot({url!r}, 300, False, first=90_000, after_start=mark, after_pledges=mark))
mark()
print(*peaks)
"""
        output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    started, pledged, tipped = map(float, output.stdout.strip().splitlines()[-1].split())
    return started, pledged, tipped


def high_water_mb() -> float:
    """This process's peak RSS in MB (VmHWM: ru_maxrss would count the parent's, inherited
    across fork, for a process started from a larger one)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def import_memory(statement: str) -> float:
    """Peak RSS (MB) of a new Python process that only runs `statement` (an import)."""
    code = (f"{statement}\n"
            "print(next(int(line.split()[1]) / 1024 for line in open('/proc/self/status')"
            " if line.startswith('VmHWM:')))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parent.parent)
    return float(output.stdout.strip())


async def measure(name: str, url: str, count: int, tips: int, profile: bool) -> None:
    await prepare(url, count)
    base = await bare(count)
    pledge_rate, tip_rate = await full_bot(url, count, profile, tips=tips)
    print(f"{name}:")
    print(f"  (a) bare dispatcher, empty handler: {base:8.0f} updates/s")
    print(f"  (b) full bot, pledge-confirm:       {pledge_rate:8.0f} updates/s   b/a = {pledge_rate / base:.3f}")
    print(f"  (b) full bot, tip-submit:           {tip_rate:8.0f} updates/s   b/a = {tip_rate / base:.3f}")
    both = (count + tips) / (count / pledge_rate + tips / tip_rate)
    print(f"  (b) both paths, {count} + {tips} updates: {both:6.0f} updates/s   b/a = {both / base:.3f}")
    sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20_000,
                        help="updates through the bare dispatcher and the pledge path")
    parser.add_argument("--tip-updates", type=int, default=2_000,
                        help="updates through the tip path (each derives a key for ~60 ms, one at "
                             "a time: 20,000 would take over 20 minutes)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a scratch database is used")
    parser.add_argument("--profile", action="store_true", help="print a profile of the pledge path")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        await measure("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db", args.updates,
                      args.tip_updates, args.profile)
    if args.postgres:
        from sqlalchemy.engine import make_url

        name = f"binhyen_bench_{os.getpid()}"
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.postgres).set(database=name).render_as_string(False)
            await measure("PostgreSQL", url, args.updates, args.tip_updates, args.profile)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            await admin.dispose()
    if not args.no_memory:
        started, pledged, tipped = await asyncio.to_thread(peak_memory, 100_000)
        print("peak memory of a bot process with 100,000 households (target < 200 MB):")
        print(f"  started: {started:.0f} MB; after 300 pledges: {pledged:.0f} MB; "
              f"after 300 tips: {tipped:.0f} MB")
        print(f"  importing aiogram as the bot does, its models built on use: "
              f"{import_memory('import bot, aiogram'):.0f} MB; aiogram's own import, every model "
              f"built: {import_memory('import aiogram'):.0f} MB")


if __name__ == "__main__":
    os.environ.setdefault("BINHYEN_LOG_LEVEL", "WARNING")
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
