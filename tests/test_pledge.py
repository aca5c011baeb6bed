"""The household pledge: one per household and campaign, confirmed by any member, withdrawn with a reason."""

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Pledge
from db.services.campaigns import create_campaign
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from tests.arrange import local_today, tree
from tests.fakes import count, fetch


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


async def test_two_members_confirming_at_once_make_one_pledge(chat, session):
    places = await tree(session)
    await household_members(session, places, 1001, 1002)
    await chat.send("/pledge", user_id=1001)
    await chat.send("/pledge", user_id=1002)
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
    assert (pledge.status, pledge.withdraw_reason) == ("confirmed", None)
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
