"""/privacy shows what is stored; /forget deletes the member but keeps the household's record."""

from sqlalchemy import select

from db.models import Member, Pledge, Reading
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from tests.arrange import tree
from tests.fakes import count, fetch


async def test_privacy_of_someone_never_registered(chat, session):
    [reply] = await chat.send("/privacy")
    assert "không lưu gì" in reply
    [reply] = await chat.send("/forget")
    assert "không có gì để xóa" in reply


async def test_privacy_lists_the_stored_data(chat, session):
    places = await tree(session)
    member = await give_consent(session, "telegram", "1001", None)
    await join_household(session, member, places.households["H11"][0].id)
    await session.commit()
    [reply] = await chat.send("/privacy")
    for fragment in ("telegram 1001", "Người dân", "Nguyễn Văn An (H001), Ấp Bình Long",
                     "bản 2026.1", "Đã đọc 0 bài"):
        assert fragment in reply


async def test_forget_deletes_the_member_and_keeps_the_households_pledge_and_reach(chat, session):
    places = await tree(session)
    member = await give_consent(session, "telegram", "1001", None)
    await join_household(session, member, places.households["H11"][0].id)
    await session.commit()
    await chat.send("/pledge")
    await chat.press("pledge:confirm")
    await chat.press("learn:r:to-giac-toi-pham:1", forged=True)
    [warning] = await chat.send("/forget")
    assert "vẫn được tính cho hộ" in warning
    [reply] = await chat.press("forget:no")
    assert "không xóa" in reply and await count(session, Member) == 1
    await chat.send("/forget")
    [reply] = await chat.press("forget:yes")
    assert "Đã xóa" in reply
    assert await count(session, Member) == 0
    pledge = await fetch(session, select(Pledge))
    assert (pledge.status, pledge.confirmed_by_id, pledge.household_id) == (
        "confirmed", None, places.households["H11"][0].id)
    reading = await fetch(session, select(Reading))
    assert (reading.member_id, reading.household_id) == (None, places.households["H11"][0].id)
    [reply] = await chat.send("/privacy")
    assert "không lưu gì" in reply


async def test_staff_are_warned_that_forgetting_ends_their_role(chat, session):
    await tree(session)
    await grant_role(session, "telegram", "1001", "hamlet_head", "H11")
    await session.commit()
    [warning] = await chat.send("/forget")
    assert "mất vai trò" in warning
