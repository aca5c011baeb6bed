"""The household pledge: one per household and campaign, confirmed by any member, withdrawn with a reason."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event, select

from bot.cli.main import main
from content.catalog import Catalog
from db.models import Area, Campaign, Pledge
from db.services.campaigns import create_campaign
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from testkit.arrange import local_today, tree
from testkit.fakes import count, fetch


async def household_members(session, places, *user_ids):
    """Consented members of household H001 (H11)."""
    for user_id in user_ids:
        member = await give_consent(session, "telegram", str(user_id), None)
        await join_household(session, member, places.households["H11"][0].id)
    await session.commit()


async def test_a_member_confirms_and_the_bot_confirms_back_with_the_date(chat, session):
    places = await tree(session)
    await household_members(session, places, 1001)
    [shown] = await chat.send("/pledge")
    assert "Cam kết" in shown or "cam kết" in shown
    assert "chưa xác nhận cam kết" in shown
    assert chat.buttons() == ["pledge:confirm"]
    [reply] = await chat.press("pledge:confirm")
    today = local_today().strftime("%d/%m/%Y")
    assert "Hộ <b>" not in reply and "Nguyễn Văn An" in reply and today in reply
    pledge = await fetch(session, select(Pledge))
    assert (pledge.status, pledge.confirmed_by_role, pledge.pledge_version) == ("confirmed", "resident", "2026.1")
    assert pledge.campaign_id == places.campaign.id


async def test_a_second_member_sees_it_confirmed_by_role_not_by_name(chat, session):
    places = await tree(session)
    await household_members(session, places, 1001)
    await grant_role(session, "telegram", "1002", "hamlet_head", "H11")
    await session.commit()
    await household_members(session, places, 1002)
    await chat.send("/pledge", user_id=1002)
    await chat.press("pledge:confirm", user_id=1002)
    [shown] = await chat.send("/pledge", user_id=1001)
    assert "đã xác nhận cam kết ngày" in shown and "trưởng ấp" in shown.lower()
    assert "User 1002" not in shown
    assert chat.buttons(1001) == ["pledge:withdraw"]
    [reply] = await chat.press("pledge:confirm", user_id=1001, forged=True)
    assert "đã xác nhận trước đó" in reply
    assert await count(session, Pledge) == 1


async def test_two_members_confirming_at_once_make_one_pledge(chat, session, backend, monkeypatch):
    """On PostgreSQL the two confirmations really race: both have read "no pledge yet" before
    either inserts (a barrier holds the first), so the unique key alone settles it. SQLite
    serialises writing transactions (BEGIN IMMEDIATE and the write lock), so there the second
    simply sees the first's pledge; the test still checks the outcome."""
    import db.services.pledges as pledges

    places = await tree(session)
    await household_members(session, places, 1001, 1002)
    await chat.send("/pledge", user_id=1001)
    await chat.send("/pledge", user_id=1002)
    if backend == "postgres":
        both_read = asyncio.Barrier(2)
        real_insert = pledges.insert_returning

        async def insert_when_both_have_read(*args, **kwargs):
            await asyncio.wait_for(both_read.wait(), 60)  # a guard against a hang, not a timing
            return await real_insert(*args, **kwargs)

        monkeypatch.setattr(pledges, "insert_returning", insert_when_both_have_read)
    replies_before = len(chat.session.sent)
    await asyncio.gather(chat.press("pledge:confirm", user_id=1001), chat.press("pledge:confirm", user_id=1002))
    texts = [sent.text for sent in chat.session.sent[replies_before:]]
    assert sum("Cảm ơn bạn" in text for text in texts) == 1
    assert sum("đã xác nhận trước đó" in text for text in texts) == 1
    assert await count(session, Pledge) == 1


async def test_withdrawing_needs_a_reason_and_confirming_again_renews(chat, session):
    places = await tree(session)
    await household_members(session, places, 1001)
    await chat.send("/pledge")
    await chat.press("pledge:confirm")
    await chat.send("/pledge")
    [ask] = await chat.press("pledge:withdraw")
    assert "lý do" in ask
    [reply] = await chat.send("x" * 501)
    assert "từ 1 đến 500 ký tự" in reply
    [reply] = await chat.send("Gia đình chuyển đi nơi khác")
    assert "Đã rút cam kết" in reply
    pledge = await fetch(session, select(Pledge))
    assert (pledge.status, pledge.withdraw_reason) == ("withdrawn", "Gia đình chuyển đi nơi khác")
    [shown] = await chat.send("/pledge")
    assert "đã rút cam kết" in shown and "chuyển đi" in shown
    [again] = await chat.press("pledge:confirm")
    assert "Cảm ơn bạn" in again, again
    pledge = await fetch(session, select(Pledge))
    # Confirmed again, the pledge keeps the last withdrawal's date and reason (its history).
    assert (pledge.status, pledge.withdraw_reason) == ("confirmed", "Gia đình chuyển đi nơi khác")
    assert pledge.withdrawn_at is not None and pledge.confirmed_at >= pledge.withdrawn_at
    [shown] = await chat.send("/pledge")
    assert "đã xác nhận cam kết ngày" in shown and chat.buttons() == ["pledge:withdraw"]
    assert await count(session, Pledge) == 1


async def test_without_a_household_or_an_open_campaign_the_answer_is_clear(chat, session):
    places = await tree(session, year=None)
    [reply] = await chat.send("/pledge")
    assert "/join" in reply
    await household_members(session, places, 1001)
    [reply] = await chat.send("/pledge")
    assert "Chưa có đợt thi đua nào đang mở" in reply
    await create_campaign(session, places.province, local_today().year + 1, "Năm sau", pledge_version="2026.1")
    await session.commit()
    [reply] = await chat.send("/pledge")
    assert "Chưa có đợt thi đua nào đang mở" in reply
    [reply] = await chat.press("pledge:confirm", forged=True)
    assert "Chưa có đợt thi đua nào đang mở" in reply
    assert await count(session, Pledge) == 0


async def test_the_pledge_text_follows_the_members_language(chat, session):
    places = await tree(session)
    await household_members(session, places, 1001)
    await chat.send("/language")
    await chat.press("lang:en")
    [shown] = await chat.send("/pledge")
    assert "has not confirmed" in shown


async def test_no_confirmation_is_shown_when_the_commit_fails(chat, session):
    """The ✅ goes out only after the commit; a failing commit gets an apology instead."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    places = await tree(session)
    await household_members(session, places, 1001)
    await chat.send("/pledge")

    def database_gone(_session) -> None:
        raise OperationalError("COMMIT", {}, ConnectionError("the database went away"))

    event.listen(Session, "before_commit", database_gone)
    try:
        [reply] = await chat.press("pledge:confirm")
    finally:
        event.remove(Session, "before_commit", database_gone)
    assert "thử lại" in reply and "Cảm ơn" not in reply
    assert await count(session, Pledge) == 0
    [reply] = await chat.press("pledge:confirm", forged=True)
    assert "Cảm ơn bạn" in reply
    assert await count(session, Pledge) == 1


EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


async def test_a_campaign_made_from_the_command_line_can_be_pledged(chat, session, database_url, monkeypatch):
    """Outside the demo: areas and households imported, the campaign created by
    `binhyen campaign milestone add`; a resident joins and confirms the pledge."""
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    year = local_today().year
    for command in (["areas", "import", str(EXAMPLES / "areas.csv")],
                    ["households", "import", str(EXAMPLES / "households.csv")],
                    ["campaign", "milestone", "add", "--area", "DT", "--year", str(year),
                     "--kind", "festival_day"]):
        assert await asyncio.to_thread(main, command) == 0, command
    campaign = await fetch(session, select(Campaign))
    assert campaign.pledge_version == Catalog.load().newest_pledge_version() == "2026.2"
    hamlet = await fetch(session, select(Area).where(Area.code == "DT-MH-01"))
    await chat.send(f"/start j_{hamlet.join_code}")
    await chat.press("consent:yes")
    await chat.send("nguyen van an")
    [pick] = [data for data in chat.buttons() if data.startswith("hh:pick:")]
    await chat.press(pick)
    [shown] = await chat.send("/pledge")
    assert "Bản cam kết giao ước thi đua" in shown and "chưa xác nhận cam kết năm" in shown
    [reply] = await chat.press("pledge:confirm")
    assert "Cảm ơn bạn! Hộ <b>" not in reply and "Nguyễn Văn An" in reply
    pledge = await fetch(session, select(Pledge))
    assert (pledge.campaign_id, pledge.pledge_version) == (campaign.id, "2026.2")


async def test_a_campaign_whose_pledge_text_is_missing_is_flagged(chat, session, database_url, monkeypatch,
                                                                  capsys, caplog):
    """`binhyen content check` and the app at start name the campaign; /pledge and a forged
    confirmation say there is no text, and nothing is stored."""
    import logging

    from base.settings import load_settings
    from bot.app import build_app

    places = await tree(session, year=None)
    await create_campaign(session, places.province, local_today().year, "Năm nay", pledge_version="1")
    await session.commit()
    await household_members(session, places, 1001)
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert await asyncio.to_thread(main, ["content", "check"]) == 1
    err = capsys.readouterr().err
    assert "chiến dịch Năm nay (P, " in err and "Dùng văn bản cam kết 1 mà kho nội dung thiếu bản vi, en." in err
    with caplog.at_level(logging.WARNING, logger="db.services.pledge_texts"):
        started = await build_app(load_settings(database_url=database_url, redis_url=None))
        await started.close()
    assert "campaign 'Năm nay' (P, " in caplog.text and "version '1'" in caplog.text
    [reply] = await chat.send("/pledge")
    assert "Chưa có văn bản cam kết cho đợt thi đua này" in reply
    [reply] = await chat.press("pledge:confirm", forged=True)
    assert "Chưa có văn bản cam kết cho đợt thi đua này" in reply
    assert await count(session, Pledge) == 0


async def test_content_check_passes_when_every_campaign_has_its_pledge_text(session, database_url, monkeypatch, capsys):
    await tree(session)
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert await asyncio.to_thread(main, ["content", "check"]) == 0
    assert "Kho nội dung hợp lệ" in capsys.readouterr().out


async def test_a_pledge_confirmation_reads_no_table_whole(chat, session, app, backend):
    """Every statement of the update (the ledger, the member with their household, the
    campaign, the pledge) finds its rows through an index: none scans households, members or
    pledges, whose size grows with the province. (A member's household was once joined as
    `LEFT JOIN (households JOIN areas)`, which SQLite ran as a scan of every household.)"""
    if backend != "sqlite":
        pytest.skip("PostgreSQL plans from its statistics; on this tiny fixture it rightly scans")
    places = await tree(session)
    await household_members(session, places, 1001)
    await chat.send("/pledge")
    statements: list[tuple[str, tuple]] = []

    def seen(_connection, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(app.engine.sync_engine, "before_cursor_execute", seen)
    try:
        [reply] = await chat.press("pledge:confirm")
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", seen)
    assert "Cảm ơn bạn" in reply
    queries = [(sql, params) for sql, params in statements if sql.lstrip().upper().startswith(("SELECT", "INSERT"))]
    assert len(queries) == 4, [sql[:60] for sql, _ in queries]  # ledger, member, campaign, pledge
    connection = await session.connection()
    for sql, params in queries:
        plan = [row[-1] for row in (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)).all()]
        for table in ("households", "members", "pledges", "processed_updates"):
            assert not any(step.startswith(f"SCAN {table}") for step in plan), (sql[:80], plan)
