"""The movement's units on Zalo, through the real transport against the fake Zalo Bot API: a
representative registers a school by typing the code and the numbers of the options."""

from sqlalchemy import select

from db.models import Member, OrganizationRegistration
from db.services.joining import give_consent, join_household
from testkit.arrange import tree
from testkit.fakes import fetch
from testkit.movement import add_model, add_organization
from testkit.zalo_chat import LAN, options, settings, zalo  # noqa: F401


async def test_a_representative_registers_the_unit_by_typed_numbers(zalo, session):
    places = await tree(session)
    school = await add_organization(session, places.c1, "TH1", "Trường THCS Tân Hòa", "school")
    await session.commit()
    [offer] = await zalo.send(f"/join {school.join_code}")
    assert "Trường THCS Tân Hòa" in offer and "<b>" not in offer
    assert list(options(offer)) == ["✅ Tôi là người đại diện, đồng ý", "Không"]
    _welcome, status = await zalo.choose("✅ Tôi là người đại diện")
    assert "Bản đăng ký thi đua" in status and "✅ Đơn vị xác nhận đăng ký" in options(status)
    [done] = await zalo.choose("✅ Đơn vị xác nhận đăng ký")
    assert "đã đăng ký thi đua" in done
    member = await fetch(session, select(Member).where(Member.channel == "zalo", Member.user_id == LAN))
    row = await fetch(session, select(OrganizationRegistration))
    assert member.organization_id == school.id
    assert (row.status, row.via, row.confirmed_by_id) == ("confirmed", "chat", member.id)


async def test_a_resident_reads_the_hamlets_models_from_the_outreach_menu(zalo, session):
    places = await tree(session)
    member = await give_consent(session, "zalo", LAN, None)
    await join_household(session, member, places.households["H11"][0].id)
    await add_model(session, "Tổ tự quản số 3", "effective", area=places.h11, how_to_join="Họp tối thứ Bảy")
    await session.commit()
    [topics] = await zalo.send("/learn")
    assert "🛡 Mô hình tự quản ở ấp của bạn" in options(topics)
    [shown] = await zalo.choose("🛡 Mô hình tự quản")
    assert "Tổ tự quản số 3" in shown and "Họp tối thứ Bảy" in shown and "<b>" not in shown


async def test_an_officer_registers_a_hamlet_and_ticks_a_criterion_by_typed_numbers(zalo, session):
    from db.models import CriterionCheck, Recognition
    from db.services.members import grant_role

    places = await tree(session)
    await grant_role(session, "zalo", LAN, "officer", "C1")
    await session.commit()
    [listing] = await zalo.send("/recognition")
    assert "Công nhận “An toàn về ANTT” — Xã Tân Hòa" in listing and "<b>" not in listing
    [card] = await zalo.choose("⬜ Ấp Bình Long")
    assert "0/5 hộ đã ký cam kết (0%)" in card
    _done, card = await zalo.choose("📝 Ghi nhận đăng ký")
    assert "Tình trạng: đã đăng ký" in card
    [menu] = await zalo.choose("⬜ 1a")
    assert "tiêu chí 1a" in menu
    [card] = await zalo.choose("✅ Đạt")
    assert "✅ 1a." in card
    recognition = await fetch(session, select(Recognition))
    check = await fetch(session, select(CriterionCheck))
    assert (recognition.area_id, check.recognition_id, check.met) == (places.h11.id, recognition.id, True)
