"""binhyen broadcast and binhyen campaign from the command line."""

import asyncio

from bot.cli import main
from db.models import Household, Member
from db.session import make_engine, make_sessionmaker
from sqlalchemy import select


def console_residents(url: str, hamlet_code: str, user_ids: list[str]) -> None:
    async def arrange():
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session, session.begin():
            from db.models import Area

            hamlet = await session.scalar(select(Area).where(Area.code == hamlet_code))
            households = list(await session.scalars(
                select(Household).where(Household.hamlet_id == hamlet.id)))
            for user_id, household in zip(user_ids, households):
                session.add(Member(channel="console", user_id=user_id, household_id=household.id,
                                   role="resident"))
        await engine.dispose()

    asyncio.run(arrange())


def test_broadcast_now_drains_with_progress_and_later_is_scheduled(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
    assert main(["demo-data", "--households", "40"]) == 0
    console_residents(database_url, "DEMO-01-01", ["501", "502"])
    capsys.readouterr()
    assert main(["broadcast", "--area", "demo-01-01", "--text", "Họp tổ <tự quản>", "--urgent"]) == 0
    captured = capsys.readouterr()
    assert "Gửi thông báo #1 tới 3 người." in captured.out  # two residents and the hamlet head
    assert "[Bình Yên → 501]" in captured.out and "Họp tổ <tự quản>" in captured.out
    assert "Xong: 3 người đã nhận, 0 không liên lạc được, 0 lỗi." in captured.out
    assert "3/3" in captured.err  # the progress bar
    assert main(["broadcast", "--area", "DEMO-01-01", "--text", "Sau", "--at", "2030-01-01T07:30"]) == 0
    assert "Đã hẹn gửi thông báo #2 lúc 07:30 01/01/2030" in capsys.readouterr().out
    assert main(["broadcast", "--area", "DEMO-01-01", "--text", " ", "--urgent"]) == 1
    assert "đang trống" in capsys.readouterr().err


def test_campaign_milestones_and_reminders_from_the_command_line(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["demo-data", "--households", "10"]) == 0
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
