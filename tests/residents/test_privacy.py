"""/privacy shows what is stored; /forget deletes the member but keeps the household's record."""

from sqlalchemy import select

from db.models import Member, Pledge, Reading
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from testkit.arrange import tree
from testkit.fakes import count, fetch


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
    await chat.press("learn:r:to-giac-toi-pham:2", forged=True)
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


async def test_forget_cancels_the_members_pending_messages_and_blanks_the_old_ones(chat, session):
    from datetime import datetime, timezone

    from db.models import Delivery

    places = await tree(session)
    household = places.households["H11"][0]
    members = []
    for user_id in ("1001", "1002"):
        member = await give_consent(session, "telegram", user_id, None)
        await join_household(session, member, household.id)
        members.append(member)
    now = datetime.now(timezone.utc)
    for member in members:
        for source, status in (("broadcast:1", "sent"), ("reminder:2", "pending")):
            session.add(Delivery(source=source, member_id=member.id, channel="telegram",
                                 chat_id=member.user_id, text=f"Họp tổ ({source})", status=status,
                                 next_attempt_at=now, sent_at=now if status == "sent" else None))
    await session.commit()
    [shown] = await chat.send("/privacy")
    assert "2 tin Bình Yên đã gửi hoặc sắp gửi cho bạn" in shown
    [warning] = await chat.send("/forget")
    assert "tin chưa gửi sẽ không gửi nữa" in warning
    await chat.press("forget:yes")
    rows = {(row.source, row.member_id): row for row in await fetch_all(session, select(Delivery))}
    sent, pending = rows[("broadcast:1", None)], rows[("reminder:2", None)]
    assert (sent.status, sent.text, sent.chat_id) == ("sent", "", f"forgotten:{sent.id}")
    assert (pending.status, pending.text, pending.chat_id) == ("unreachable", "", f"forgotten:{pending.id}")
    # The other member of the household keeps their messages.
    other = rows[("reminder:2", members[1].id)]
    assert (other.status, other.chat_id, other.text) == ("pending", "1002", "Họp tổ (reminder:2)")
    assert await count(session, Delivery, Delivery.chat_id == "1001") == 0
    [shown] = await chat.send("/privacy")
    assert "không lưu gì" in shown


async def fetch_all(session, statement):
    """Every row of `statement` as committed now."""
    await session.rollback()
    rows = list(await session.scalars(statement.execution_options(populate_existing=True)))
    await session.commit()
    return rows
