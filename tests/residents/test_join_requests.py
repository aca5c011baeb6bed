"""A household that has members is joined only with the confirmation of one of them or of the
hamlet head; a withdrawn pledge is told to the other members and the hamlet head, and its
history keeps who withdrew it (by member number)."""

import pytest
from sqlalchemy import select

from db.models import Delivery, JoinRequest, Member, PledgeEvent
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from testkit.arrange import tree
from testkit.fakes import count, fetch

MEMBER, STRANGER, HEAD, OTHER_HEAD = 1001, 1666, 3004, 3005


@pytest.fixture
async def places(session):
    """H001 of H11 has one member; H11 has a hamlet head, H21 another."""
    places = await tree(session)
    member = await give_consent(session, "telegram", str(MEMBER), None)
    await join_household(session, member, places.households["H11"][0].id)
    await grant_role(session, "telegram", str(HEAD), "hamlet_head", "H11")
    await grant_role(session, "telegram", str(OTHER_HEAD), "hamlet_head", "H21")
    await session.commit()
    return places


async def member(session, user_id: int) -> Member | None:
    return await fetch(session, select(Member).where(Member.user_id == str(user_id)))


async def notices(session, user_id: int) -> list[Delivery]:
    await session.rollback()
    rows = list(await session.scalars(select(Delivery).where(Delivery.chat_id == str(user_id))
                                      .order_by(Delivery.id)))
    await session.commit()
    return rows


async def ask_to_join(chat, places, user_id=STRANGER, note="Con trai ông An, tên Bình") -> list[str]:
    await chat.send(f"/join {places.h11.join_code}", user_id=user_id)
    await chat.press("consent:yes", user_id=user_id)
    await chat.send("Nguyễn Văn An", user_id=user_id)
    household = places.households["H11"][0]
    [asked] = await chat.press(f"hh:pick:{household.id}", user_id=user_id)
    assert "đã có người tham gia" in asked and "giới thiệu" in asked
    return await chat.send(note, user_id=user_id)


async def test_joining_a_household_with_members_waits_for_one_of_them(chat, session, places):
    household = places.households["H11"][0]
    [sent] = await ask_to_join(chat, places)
    assert "Đã gửi yêu cầu vào hộ" in sent and "Nguyễn Văn An" in sent
    assert (await member(session, STRANGER)).household_id is None  # not in it yet
    # The member and the hamlet head are told, through the delivery worker; the other hamlet's
    # head is not.
    for told in (MEMBER, HEAD):
        [notice] = await notices(session, told)
        assert "Con trai ông An, tên Bình" in notice.text and "/requests" in notice.text
        assert notice.source.startswith(f"household:{household.id}:join:")
    assert await notices(session, OTHER_HEAD) == []

    # Someone of another household, or the other hamlet's head, sees nothing and may not decide.
    [none] = await chat.send("/requests", user_id=OTHER_HEAD)
    assert "Không có ai" in none
    request = await fetch(session, select(JoinRequest))
    [refused] = await chat.press(f"jr:y:{request.id}", user_id=OTHER_HEAD, forged=True)
    assert "không thuộc phạm vi" in refused
    [refused] = await chat.press(f"jr:y:{request.id}", user_id=STRANGER, forged=True)  # not oneself
    assert "không thuộc phạm vi" in refused
    assert (await member(session, STRANGER)).household_id is None

    # The member confirms with a button.
    [shown] = await chat.send("/requests", user_id=MEMBER)
    assert "Con trai ông An, tên Bình" in shown and "H001" in shown
    assert chat.buttons(MEMBER) == [f"jr:y:{request.id}", f"jr:n:{request.id}"]
    [done] = await chat.press(f"jr:y:{request.id}", user_id=MEMBER)
    assert "Đã xác nhận người mới" in done
    assert (await member(session, STRANGER)).household_id == household.id
    [told] = [n for n in await notices(session, STRANGER) if n.source.endswith(":decided")]
    assert "đã được xác nhận vào hộ" in told.text
    decided = await fetch(session, select(JoinRequest))
    assert decided.status == "approved" and decided.note is None  # what they wrote is erased
    [again] = await chat.press(f"jr:n:{request.id}", user_id=HEAD, forged=True)
    assert "đã được xử lý" in again


async def test_the_hamlet_head_may_refuse_and_the_newcomer_is_told(chat, session, places):
    await ask_to_join(chat, places)
    request = await fetch(session, select(JoinRequest))
    await chat.send("/requests", user_id=HEAD)
    [done] = await chat.press(f"jr:n:{request.id}", user_id=HEAD)
    assert "Đã từ chối" in done
    assert (await member(session, STRANGER)).household_id is None
    [told] = [n for n in await notices(session, STRANGER) if n.source.endswith(":decided")]
    assert "không được đồng ý" in told.text


async def test_a_household_nobody_joined_yet_is_joined_at_once(chat, session, places):
    empty = places.households["H11"][3]
    await chat.send(f"/join {places.h11.join_code}", user_id=STRANGER)
    await chat.press("consent:yes", user_id=STRANGER)
    await chat.send(empty.code, user_id=STRANGER)
    [joined] = await chat.press(f"hh:pick:{empty.id}", user_id=STRANGER)
    assert "Bạn đã vào hộ" in joined
    assert (await member(session, STRANGER)).household_id == empty.id
    assert await count(session, JoinRequest) == 0


async def test_a_withdrawal_is_told_to_the_other_members_and_the_head_with_who_withdrew(chat, session, places):
    household = places.households["H11"][0]
    second = await give_consent(session, "telegram", "1002", None)
    await join_household(session, second, household.id)
    await session.commit()
    await chat.send("/pledge", user_id=MEMBER)
    await chat.press("pledge:confirm", user_id=MEMBER)
    await chat.send("/pledge", user_id=1002)
    await chat.press("pledge:withdraw", user_id=1002)
    [done] = await chat.send("Hộ chuyển đi nơi khác", user_id=1002)
    assert "Đã rút cam kết" in done
    withdrawer, confirmer = (await member(session, 1002)).id, (await member(session, MEMBER)).id
    for told in (MEMBER, HEAD):
        [notice] = [n for n in await notices(session, told) if n.source.startswith("pledge:")]
        assert "vừa rút cam kết" in notice.text and "Hộ chuyển đi nơi khác" in notice.text
        assert f"thành viên số {withdrawer}" in notice.text
    assert [n for n in await notices(session, 1002) if n.source.startswith("pledge:")] == []
    assert await notices(session, OTHER_HEAD) == []
    # The history keeps who confirmed and who withdrew, by member; the head sees it.
    await session.rollback()
    events = [(e.kind, e.member_id) for e in await session.scalars(select(PledgeEvent).order_by(PledgeEvent.id))]
    await session.commit()
    assert events == [("confirmed", confirmer), ("withdrawn", withdrawer)]
    [summary] = await chat.send("/households H11", user_id=HEAD)
    assert "Rút cam kết gần đây" in summary and "H001, ngày" in summary
    assert f"thành viên số {withdrawer}" in summary and "User 1002" not in summary


async def test_forgetting_oneself_drops_ones_request_and_what_it_said(chat, session, places):
    await ask_to_join(chat, places)
    await chat.send("/forget", user_id=STRANGER)
    await chat.press("forget:yes", user_id=STRANGER)
    assert await count(session, JoinRequest) == 0
