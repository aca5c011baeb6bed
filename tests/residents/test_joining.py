"""Joining a hamlet from a QR/deep link, /join CODE or buttons; consent; finding the household."""

import pytest
from sqlalchemy import select

from db.models import Delivery, Household, Member
from testkit.arrange import tree
from testkit.fakes import count, fetch


@pytest.fixture
async def places(session):
    return await tree(session)


async def member(session, user_id: int, channel: str = "telegram") -> Member | None:
    return await fetch(session, select(Member).where(Member.channel == channel,
                                                     Member.user_id == str(user_id)))


async def consent_to(chat, places, user_id=1001):
    [notice] = await chat.send(f"/start j_{places.h11.join_code}", user_id=user_id)
    assert "Đồng ý" in notice or "đồng ý" in notice
    return await chat.press("consent:yes", user_id=user_id)


async def test_the_qr_deep_link_asks_consent_before_storing_anything(chat, session, places):
    [notice] = await chat.send(f"/start j_{places.h11.join_code}")
    assert "Bình Yên sẽ lưu" in notice and "/forget" in notice
    assert chat.buttons() == ["consent:yes", "consent:no"]
    assert await count(session, Member) == 0
    [reply] = await chat.press("consent:no")
    assert "không lưu gì" in reply
    assert await count(session, Member) == 0


async def test_consent_is_recorded_with_time_and_version_then_the_household_is_asked(chat, session, places):
    replies = await consent_to(chat, places)
    assert "Cảm ơn bạn đã đồng ý" in replies[0]
    assert "Ấp Bình Long" in replies[1]
    stored = await member(session, 1001)
    assert stored.consent_version == "2026.1" and stored.consent_at is not None
    assert stored.household_id is None and stored.role == "resident"


@pytest.mark.parametrize("typed", ["Lê Hoàng Đức", "le hoang duc", "LÊ HOÀNG", "duc", "h003", "H003"])
async def test_the_household_is_found_with_or_without_diacritics_or_by_code(chat, session, places, typed):
    await consent_to(chat, places)
    [reply] = await chat.send(typed)
    assert "Chọn hộ của bạn" in reply and "Lê Hoàng Đức" in reply
    target = places.households["H11"][2]
    assert f"hh:pick:{target.id}" in chat.buttons()
    [reply] = await chat.press(f"hh:pick:{target.id}")
    assert "Lê Hoàng Đức" in reply and "H003" in reply
    assert (await member(session, 1001)).household_id == target.id


async def test_decomposed_typing_finds_the_household_too(chat, places):
    import unicodedata

    await consent_to(chat, places)
    [reply] = await chat.send(unicodedata.normalize("NFD", "Trần Thị Bích"))
    assert "Trần Thị Bích" in reply


async def test_a_name_from_another_hamlet_is_not_offered(chat, places):
    await consent_to(chat, places)
    [reply] = await chat.send("Đặng Văn Lộc")
    assert "Không tìm thấy" in reply


async def test_a_forged_button_for_another_hamlets_household_changes_nothing(chat, session, places):
    await consent_to(chat, places)
    stranger = places.households["H21"][0]
    [reply] = await chat.press(f"hh:pick:{stranger.id}", forged=True)
    assert "hết" in reply
    assert (await member(session, 1001)).household_id is None


async def test_a_wrong_join_code_is_answered_politely(chat, session, places):
    [reply] = await chat.send("/join XXXXXX")
    assert "Mã tham gia không đúng" in reply
    [reply] = await chat.send("/start j_")
    assert "Mã tham gia không đúng" in reply
    assert await count(session, Member) == 0


async def test_join_code_is_typed_loosely(chat, places):
    code = places.h11.join_code
    [notice] = await chat.send(f"/join {code[:3].lower()} {code[3:].lower()}")
    assert "Bình Yên sẽ lưu" in notice


async def test_choosing_the_place_from_buttons(chat, places):
    [reply] = await chat.send("/join")
    # One province: it is skipped and the communes are offered.
    assert chat.buttons() == [f"area:{places.c2.id}", f"area:{places.c1.id}"]
    await chat.press(f"area:{places.c1.id}")
    assert f"area:{places.h11.id}" in chat.buttons()
    [notice] = await chat.press(f"area:{places.h11.id}")
    assert "Bình Yên sẽ lưu" in notice


async def test_the_list_of_households_pages(chat, session, places):
    from testkit.arrange import add_households

    await add_households(session, places.h11, [f"Hộ Số {n}" for n in range(20)], prefix="X")
    await session.commit()
    await consent_to(chat, places)
    [page] = await chat.press("hh:list:0")
    assert "trang 1/4" in page
    assert "hh:list:1" in chat.buttons()
    [page] = await chat.press("hh:list:1")
    assert "trang 2/4" in page and "hh:list:0" in chat.buttons()


async def test_a_household_not_listed_is_registered_and_waits_for_the_head(chat, session, places):
    from db.services.members import grant_role

    await grant_role(session, "telegram", "3005", "hamlet_head", "H11")  # told when it is registered
    await session.commit()
    await consent_to(chat, places)
    await chat.press("hh:new")
    [reply] = await chat.send("Ngô Thị Lan")
    assert "Địa chỉ" in reply
    await chat.send("Tổ 4, ấp Bình Long")
    [reply] = await chat.send("nhiều")
    assert "từ 1 đến 99" in reply
    [summary] = await chat.send("5")
    assert "Ngô Thị Lan" in summary and "Tổ 4, ấp Bình Long" in summary
    [reply] = await chat.press("hh:register")
    assert "DK0001" in reply
    pending = await fetch(session, select(Household).where(Household.code == "DK0001"))
    assert pending.status == "pending" and pending.head_name_key == "ngo thi lan"
    assert (await member(session, 1001)).household_id == pending.id
    heads_notice = await fetch(session, select(Delivery).where(Delivery.chat_id == "3005"))
    assert "Có hộ mới đăng ký ở Ấp Bình Long: Ngô Thị Lan (DK0001)" in heads_notice.text
    [reply] = await chat.send("/pledge")
    assert "chờ trưởng ấp duyệt" in reply

    # The head of another hamlet cannot approve it; the head of this hamlet can.
    await grant_role(session, "telegram", "3003", "hamlet_head", "H21")
    await grant_role(session, "telegram", "3004", "hamlet_head", "H11")
    await session.commit()
    [reply] = await chat.send("/approve", user_id=3003)
    assert "không có hộ nào chờ duyệt" in reply
    await chat.send("/approve", user_id=3004)
    assert chat.buttons(3004) == [f"ap:y:{pending.id}", f"ap:n:{pending.id}"]
    [reply] = await chat.press(f"ap:y:{pending.id}", user_id=3003, forged=True)
    assert "không thuộc địa bàn" in reply
    [reply] = await chat.press(f"ap:y:{pending.id}", user_id=3004)
    assert "Đã duyệt" in reply
    assert (await fetch(session, select(Household.status).where(Household.id == pending.id))) == "active"
    # The resident who registered it is told, through the delivery worker.
    notice = await fetch(session, select(Delivery).where(Delivery.chat_id == "1001"))
    assert notice.source == f"household:{pending.id}:decided" and notice.status == "pending"
    assert "Trưởng ấp đã duyệt hộ Ngô Thị Lan (DK0001)" in notice.text and "/pledge" in notice.text
    # The button is still on the head's screen; pressing it again changes nothing.
    [reply] = await chat.press(f"ap:y:{pending.id}", user_id=3004, forged=True)
    assert "đã được xử lý" in reply


@pytest.mark.parametrize("override", ["\u202e", "\u2066", "\u202b"])
async def test_bidi_controls_in_a_new_households_name_or_address_are_refused(chat, session, places, override):
    """A right-to-left override would show the hamlet head, in /approve, another name or
    address than the one stored (as tips refuse them)."""
    await consent_to(chat, places)
    await chat.press("hh:new")
    [reply] = await chat.send(f"Ngô Thị {override}naL")
    assert "ký tự lạ" in reply
    [reply] = await chat.send("Ngô Thị\u200b Lan")  # a zero-width space is dropped, not refused
    assert "Địa chỉ" in reply
    [reply] = await chat.send(f"Số {override}21 Tổ 4")
    assert "ký tự lạ" in reply
    await chat.send("Tổ 4, ấp Bình Long")
    [summary] = await chat.send("5")
    assert "Ngô Thị Lan" in summary
    await chat.press("hh:register")
    stored = await fetch(session, select(Household).where(Household.code == "DK0001"))
    assert (stored.head_name, stored.address) == ("Ngô Thị Lan", "Tổ 4, ấp Bình Long")


async def test_a_rejected_household_loses_its_member(chat, session, places):
    from db.services.members import grant_role

    await consent_to(chat, places)
    await chat.press("hh:new")
    for text in ("Ngô Thị Lan", "Tổ 4", "3"):
        await chat.send(text)
    await chat.press("hh:register")
    await grant_role(session, "telegram", "3004", "hamlet_head", "H11")
    await session.commit()
    await chat.send("/approve", user_id=3004)
    household_id = int(chat.buttons(3004)[1].split(":")[2])
    [reply] = await chat.press(f"ap:n:{household_id}", user_id=3004)
    assert "Đã không duyệt" in reply
    assert (await member(session, 1001)).household_id is None


async def test_cancel_drops_a_half_done_registration(chat, session, places):
    await consent_to(chat, places)
    await chat.press("hh:new")
    await chat.send("Ngô Thị Lan")
    [reply] = await chat.send("/cancel")
    assert "Đã dừng" in reply
    [reply] = await chat.send("Tổ 4")
    assert "chưa hiểu" in reply
    assert await count(session, Household, Household.status == "pending") == 0


async def test_the_language_chosen_before_consent_is_kept(chat, session, places):
    await chat.send("/language")
    await chat.press("lang:en")
    [notice] = await chat.send(f"/join {places.h11.join_code}")
    assert "Bình Yên will store" in notice
    await chat.press("consent:yes")
    assert (await member(session, 1001)).locale == "en"


async def test_seventy_communes_are_offered_page_by_page(chat, session):
    from db.services.areas import add_area

    province = await add_area(session, "P", "Tỉnh Thử", "province", None)
    communes = [await add_area(session, f"C{n:02d}", f"Xã Số {n:02d}", "commune", province)
                for n in range(70)]
    last = await add_area(session, "C69-1", "Ấp Cuối", "hamlet", communes[-1])
    await session.commit()
    [first] = await chat.send("/join")
    assert "(trang 1/4)" in first
    # The one province is skipped: the pages are the province's communes.
    assert chat.buttons() == [f"area:{c.id}" for c in communes[:20]] + [f"areas:{province.id}:1"]
    seen = []
    for page in range(1, 4):
        [shown] = await chat.press(f"areas:{province.id}:{page}")
        assert f"(trang {page + 1}/4)" in shown
        seen += [data for data in chat.buttons() if data.startswith("area:")]
    assert seen == [f"area:{c.id}" for c in communes[20:]]
    assert chat.buttons()[-1] == f"areas:{province.id}:2"  # the last page goes back only
    [notice] = await chat.press(f"area:{communes[-1].id}")  # the 70th commune, then its hamlet
    assert chat.buttons() == [f"area:{last.id}"]
    [notice] = await chat.press(f"area:{last.id}")
    assert "Bình Yên sẽ lưu" in notice
    [shown] = await chat.press("areas:0:99", forged=True)  # past the end: the last page
    assert "(trang 4/4)" in shown
    [reply] = await chat.press("areas:999999:0", forged=True)
    assert "Không tìm thấy địa bàn" in reply


async def test_the_join_list_shows_names_and_codes_but_not_addresses(chat, session, places):
    await consent_to(chat, places)
    [page] = await chat.press("hh:list:0")
    assert "Nguyễn Văn An — H001" in page and "Số 1" not in page
    [found] = await chat.send("an")
    assert "Nguyễn Văn An — H001" in found and "Ấp Bình Long" not in found.split("\n", 1)[1]
    [page] = await chat.press("hh:list:100", forged=True)
    assert "trang 1/1" in page and "Nguyễn Văn An — H001" in page
