"""binhyen broadcast and binhyen campaign from the command line."""

import asyncio
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.cli.main import main
from content.catalog import Catalog
from db.models import Area, Broadcast, Household, Member, Reminder
from db.services.broadcasts import finish_broadcasts
from db.session import make_engine, make_sessionmaker
from delivery.sender import SENT, Channel
from delivery.worker import DeliveryWorker
from testkit.delivery_fakes import make_translator

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def console_residents(url: str, hamlet_code: str, user_ids: list[str],
                      locales: dict[str, str] | None = None) -> None:
    async def arrange():
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session, session.begin():
            hamlet = await session.scalar(select(Area).where(Area.code == hamlet_code))
            households = list(await session.scalars(
                select(Household).where(Household.hamlet_id == hamlet.id)))
            for user_id, household in zip(user_ids, households):
                session.add(Member(channel="console", user_id=user_id, household_id=household.id,
                                   role="resident", locale=(locales or {}).get(user_id)))
        await engine.dispose()

    asyncio.run(arrange())


def scalar(url: str, statement):
    async def query():
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            value = await session.scalar(statement)
        await engine.dispose()
        return value

    return asyncio.run(query())


def local_iso(days: float) -> str:
    """A local time this many days from now, as --at takes it."""
    return f"{datetime.now(TZ) + timedelta(days=days):%Y-%m-%dT%H:%M}"


def test_broadcast_now_drains_with_progress_and_later_is_scheduled(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
    assert main(["demo-data", "--households", "40", "--bare"]) == 0
    console_residents(database_url, "DEMO-01-01", ["501", "502"])
    capsys.readouterr()
    assert main(["broadcast", "--area", "demo-01-01", "--text", "Họp tổ <tự quản>", "--urgent"]) == 0
    captured = capsys.readouterr()
    assert "Gửi thông báo #1 tới 3 người." in captured.out  # two residents and the hamlet head
    assert "[Bình Yên → 501]" in captured.out and "Họp tổ <tự quản>" in captured.out
    assert "Xong: 3 người đã nhận, 0 không liên lạc được, 0 lỗi." in captured.out
    assert "3/3" in captured.err  # the progress bar
    later = datetime.now(TZ).replace(second=0, microsecond=0) + timedelta(days=30)
    at = ["--at", f"{later:%Y-%m-%dT%H:%M}", "--urgent"]
    assert main(["broadcast", "--area", "DEMO-01-01", "--text", "Sau", *at]) == 0
    assert f"Đã hẹn gửi thông báo #2 lúc {later:%H:%M %d/%m/%Y}" in capsys.readouterr().out
    assert main(["broadcast", "--area", "DEMO-01-01", "--text", " ", "--urgent"]) == 1
    assert "đang trống" in capsys.readouterr().err


def test_broadcast_times_and_audiences_are_checked_like_in_chat(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
    assert main(["demo-data", "--households", "40", "--bare"]) == 0
    console_residents(database_url, "DEMO-01-01", ["501"])
    capsys.readouterr()
    args = ["broadcast", "--area", "DEMO-01-01", "--text", "Họp", "--urgent"]
    assert main([*args, "--at", local_iso(-1 / 24)]) == 2  # an hour ago: not sent at once
    assert "đã qua" in capsys.readouterr().err
    assert main([*args, "--at", "2099-01-01T07:30"]) == 2
    assert "trong vòng một năm" in capsys.readouterr().err
    assert main([*args, "--at", "tomorrow"]) == 2
    assert "ISO 8601" in capsys.readouterr().err
    # A hamlet nobody of which is on the bot: refused, as the chat's preview refuses it.
    assert main(["broadcast", "--area", "DEMO-01-02", "--text", "Họp", "--urgent"]) == 2
    assert "Không có ai trong nhóm này để gửi." in capsys.readouterr().err
    assert main(["broadcast", "--area", "DEMO-01-01", "--urgent"]) == 2
    assert "--text, --article" in capsys.readouterr().err
    assert scalar(database_url, select(func.count()).select_from(Broadcast)) == 0


def test_an_outreach_article_reaches_each_recipient_in_their_language(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
    assert main(["demo-data", "--households", "40", "--bare"]) == 0
    console_residents(database_url, "DEMO-01-01", ["501", "502"], {"502": "en"})
    capsys.readouterr()
    assert main(["broadcast", "--area", "DEMO-01-01", "--article", "ma-tuy", "--urgent"]) == 0
    out = capsys.readouterr().out
    catalog = Catalog.load()
    vi, en = catalog.article("ma-tuy", "vi"), catalog.article("ma-tuy", "en")
    sent = dict(part.split("]\n", 1) for part in out.split("[Bình Yên → ")[1:])
    assert vi.title in sent["501"] and vi.summary in sent["501"] and en.title not in sent["501"]
    assert "gõ /learn ma-tuy" in sent["501"]
    assert en.title in sent["502"] and en.summary in sent["502"]
    assert "type /learn ma-tuy" in sent["502"]
    assert "Xong: 3 người đã nhận" in out
    assert scalar(database_url, select(Broadcast.article_id)) == "ma-tuy"
    assert main(["broadcast", "--area", "DEMO-01-01", "--article", "khong-co", "--urgent"]) == 1
    assert "Không có bài tuyên truyền “khong-co”" in capsys.readouterr().err


class RecordingConsole:
    """The console channel of another process: it records what it sends."""

    def __init__(self) -> None:
        self.chats: list[str] = []

    async def send(self, chat_id: str, text: str, pace=None):
        self.chats.append(chat_id)
        return SENT


def test_with_no_worker_the_command_only_follows_the_running_workers_progress(
        database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
    assert main(["demo-data", "--households", "40", "--bare"]) == 0
    console_residents(database_url, "DEMO-01-01", ["501", "502"])
    capsys.readouterr()
    console = RecordingConsole()
    ready, stopping = threading.Event(), threading.Event()

    def running_worker() -> None:  # `binhyen run --role worker`, in its own event loop
        async def run() -> None:
            engine = make_engine(database_url)
            translator = make_translator()

            async def close(session, now):
                await finish_broadcasts(session, now, TZ, translator)

            worker = DeliveryWorker(engine, [Channel("console", console, 100, per_chat_interval=0)],
                                    tz=TZ, after_recording=close, idle_poll=0.1)
            task = asyncio.create_task(worker.run())
            ready.set()
            await asyncio.to_thread(stopping.wait)
            worker.stop()
            await task
            await engine.dispose()

        asyncio.run(run())

    thread = threading.Thread(target=running_worker)
    thread.start()
    try:
        ready.wait()
        assert main(["broadcast", "--area", "DEMO-01-01", "--text", "Họp", "--urgent",
                     "--no-worker"]) == 0
    finally:
        stopping.set()
        thread.join()
    captured = capsys.readouterr()
    assert "chỉ theo dõi tiến độ" in captured.out and "Xong: 3 người đã nhận" in captured.out
    assert "[Bình Yên →" not in captured.out  # this process sent nothing itself
    assert sorted(console.chats) == ["2", "501", "502"]  # the head of DEMO-01-01 is console user 2


def test_campaign_milestones_and_reminders_from_the_command_line(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["demo-data", "--households", "10", "--bare"]) == 0
    capsys.readouterr()
    args = ["campaign", "milestone", "add", "--area", "DEMO", "--year", "2030", "--kind", "festival_day"]
    assert main([*args, "--remind", "7d@08:00:unpledged", "--remind", "0d@22:00"]) == 0
    out = capsys.readouterr().out
    assert "Đã tạo chiến dịch" in out
    assert "Đã thêm mốc Ngày hội toàn dân bảo vệ an ninh Tổ quốc ngày 19/08/2030." in out
    assert "Lời nhắc #1: 08:00 12/08/2030, unpledged." in out
    assert "Lời nhắc #2: 06:00 20/08/2030, all." in out  # 22:00 falls in the quiet hours
    assert main([*args, "--date", "2030-08-20"]) == 0
    assert "Đã dời mốc" in capsys.readouterr().out
    assert main(["campaign", "show", "--year", "2030"]) == 0
    out = capsys.readouterr().out
    assert "20/08/2030  Ngày hội toàn dân bảo vệ an ninh Tổ quốc [festival_day, DEMO]" in out
    assert "#1 08:00 13/08/2030 7d@08:00:unpledged DEMO planned" in out
    assert main([*args, "--remind", "7days"]) == 1
    assert "NGÀYd" in capsys.readouterr().err
    assert main(["campaign", "milestone", "add", "--area", "DEMO", "--year", "2030", "--kind",
                 "custom", "--date", "2030-03-01"]) == 1
    assert "cần có tên" in capsys.readouterr().err


def test_next_years_milestone_and_removing_a_reminder(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["demo-data", "--households", "10", "--bare"]) == 0
    next_year = datetime.now(TZ).year + 1
    capsys.readouterr()
    assert main(["campaign", "milestone", "add", "--area", "DEMO-01", "--year", str(next_year),
                 "--kind", "registration_deadline", "--date", f"{next_year}-02-10",
                 "--remind", "5d@08:00:unpledged"]) == 0
    out = capsys.readouterr().out
    assert f"Lời nhắc #1: 08:00 05/02/{next_year}, unpledged." in out
    assert main(["campaign", "reminder", "remove", "1"]) == 0
    assert "Đã xóa lời nhắc #1; sẽ không gửi." in capsys.readouterr().out
    assert scalar(database_url, select(func.count()).select_from(Reminder)) == 0
    assert main(["campaign", "reminder", "remove", "1"]) == 1
    assert "Không có lời nhắc #1" in capsys.readouterr().err
