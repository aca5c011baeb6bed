"""Recognition "An toàn về an ninh, trật tự": a hamlet and a commune driven from registration to
decision through the dispatcher, every computed criterion at its boundary, who may decide, the
hamlet head's checklist with what is missing, and the command line."""

from datetime import date

import pytest
from sqlalchemy import insert, select

from base.settings import load_settings
from bot.cli.main import main
from db.models import Household, Milestone, Recognition, RecognitionCriterion, Reminder
from db.services.areas import add_area
from db.services.members import grant_role
from handlers.movement.recognition import RcTick
from testkit.arrange import local_today, tree
from testkit.fakes import count, fetch
from testkit.movement import add_model, add_organization, pledge_all, recognitions, registrations

HEAD, OFFICER, ADMIN_P, OFFICER_P, REPRESENTATIVE = 7001, 7002, 7003, 7004, 7005


@pytest.fixture
async def places(session):
    places = await tree(session)
    await grant_role(session, "telegram", str(HEAD), "hamlet_head", "H11")
    await grant_role(session, "telegram", str(OFFICER), "officer", "C1")
    await grant_role(session, "telegram", str(ADMIN_P), "admin", "P")
    await grant_role(session, "telegram", str(OFFICER_P), "officer", "P")
    await session.commit()
    return places


async def recognition_of(session, area_id: int) -> Recognition | None:
    return await fetch(session, select(Recognition).where(Recognition.area_id == area_id))


async def manual_criteria(session, kind: str) -> list[RecognitionCriterion]:
    await session.rollback()
    found = list(await session.scalars(select(RecognitionCriterion).where(
        RecognitionCriterion.unit_kind == kind, RecognitionCriterion.rule.is_(None))))
    await session.commit()
    return found


async def tick_all(chat, session, user: int, recognition_id: int, kind: str, met: bool = True) -> None:
    for criterion in await manual_criteria(session, kind):
        await chat.press(RcTick(rec=recognition_id, crit=criterion.id, met=met).pack(), user_id=user, forged=True)


async def test_a_hamlet_from_registration_to_decision(chat, session, places):
    [listing] = await chat.send("/recognition", user_id=OFFICER)
    assert "Ấp Bình Long" in listing and "3 đơn vị" in listing
    [card] = await chat.press(f"ru:area:{places.h11.id}", user_id=OFFICER)
    assert "chưa đăng ký" in card and "0/5 hộ đã ký cam kết (0%)" in card
    assert chat.buttons(OFFICER) == [f"rs:register:area:{places.h11.id}"]
    done, card = await chat.press(f"rs:register:area:{places.h11.id}", user_id=OFFICER)
    assert "Đã ghi nhận" in done and "Tình trạng: đã đăng ký" in card
    recognition = await recognition_of(session, places.h11.id)
    assert (recognition.status, recognition.unit_kind, recognition.campaign_id) == (
        "registered", "hamlet", places.campaign.id)
    # A manual criterion from its own menu: met, with a note.
    first = (await manual_criteria(session, "hamlet"))[0]
    await chat.press(f"rc:{recognition.id}:{first.id}", user_id=OFFICER, forged=True)
    await chat.press(RcTick(rec=recognition.id, crit=first.id, met=True).pack(), user_id=OFFICER)
    await chat.press(f"rn:{recognition.id}:{first.id}", user_id=OFFICER, forged=True)
    [card] = await chat.send("Nghị quyết chi bộ ngày 15/02", user_id=OFFICER)
    assert "Nghị quyết chi bộ ngày 15/02" in card
    await tick_all(chat, session, OFFICER, recognition.id, "hamlet")
    for step in ("self_assessed", "proposed"):
        await chat.press(f"rs:{step}:area:{places.h11.id}", user_id=OFFICER, forged=True)
    assert (await recognition_of(session, places.h11.id)).status == "proposed"
    # Đạt needs every criterion: the households have not all pledged.
    await chat.press(f"rd:{recognition.id}:passed", user_id=OFFICER, forged=True)
    await chat.send("12/QĐ-UBND", user_id=OFFICER)
    [refused] = await chat.press("ry:today", user_id=OFFICER)
    assert "Chưa đủ tiêu chí để công nhận đạt: 1b" in refused
    assert (await recognition_of(session, places.h11.id)).status == "proposed"
    await pledge_all(session, places.campaign, places.households["H11"])
    await session.commit()
    decided, card = await chat.press("ry:today", user_id=OFFICER, forged=True)
    assert "12/QĐ-UBND" in decided and "đạt" in decided
    assert "5/5 hộ đã ký cam kết (100%)" in card
    recognition = await recognition_of(session, places.h11.id)
    assert (recognition.status, recognition.result, recognition.decision_number, recognition.decided_on,
            recognition.decided_by_role) == ("decided", "passed", "12/QĐ-UBND", local_today(), "officer")
    # Decided: no more ticks.
    [refused] = await chat.press(RcTick(rec=recognition.id, crit=first.id, met=False).pack(), user_id=OFFICER,
                                 forged=True)
    assert "đã có quyết định" in refused


async def test_a_decision_needs_a_number_and_a_date_not_in_the_future(chat, session, places):
    await recognitions(session, places.campaign, [places.h11], status="proposed")
    await session.commit()
    recognition = await recognition_of(session, places.h11.id)
    await chat.press(f"rd:{recognition.id}:failed", user_id=OFFICER, forged=True)
    [refused] = await chat.send("x" * 65, user_id=OFFICER)
    assert "Số quyết định cần" in refused
    await chat.send("7/QĐ-UBND", user_id=OFFICER)
    [refused] = await chat.send("31/12/2099", user_id=OFFICER)
    assert "không thể sau hôm nay" in refused
    await chat.send(f"{local_today():%d/%m/%Y}", user_id=OFFICER)
    recognition = await recognition_of(session, places.h11.id)
    assert (recognition.result, recognition.decision_number) == ("failed", "7/QĐ-UBND")


async def ready_commune(session, places) -> Recognition:
    """C1 with its hamlets recognized, an effective model, and its own recognition proposed with
    every ticked criterion met."""
    await recognitions(session, places.campaign, [places.h11, places.h12], status="decided", result="passed")
    await add_model(session, "Tổ tuần tra xã", "effective", area=places.c1, type_code="tuan-tra-dan-cu")
    await recognitions(session, places.campaign, [places.c1], status="proposed")
    await session.commit()
    return await recognition_of(session, places.c1.id)


async def test_a_commune_from_registration_to_a_decision_by_the_province(chat, session, places):
    await recognitions(session, places.campaign, [places.h11, places.h12], status="decided", result="passed")
    await add_model(session, "Tổ tuần tra xã", "effective", area=places.c1, type_code="tuan-tra-dan-cu")
    await session.commit()
    await chat.press(f"ru:area:{places.c1.id}", user_id=OFFICER, forged=True)
    await chat.press(f"rs:register:area:{places.c1.id}", user_id=OFFICER)
    recognition = await recognition_of(session, places.c1.id)
    await tick_all(chat, session, OFFICER, recognition.id, "commune")
    for step in ("self_assessed", "proposed"):
        [_done, card] = await chat.press(f"rs:{step}:area:{places.c1.id}", user_id=OFFICER, forged=True)
    assert "✅ 1b." in card and "1 mô hình hoạt động hiệu quả" in card
    assert "✅ 4." in card and "công nhận 2/2 (100%)" in card
    # The commune's own officer prepares the file but does not decide it.
    assert not any(data.startswith("rd:") for data in chat.buttons(OFFICER))
    [refused] = await chat.press(f"rd:{recognition.id}:passed", user_id=OFFICER, forged=True)
    assert "chưa có quyền" in refused
    # The province admin does (BINHYEN_COMMUNE_APPROVER, admin:province by default).
    [card] = await chat.send(f"/recognition {places.c1.code}", user_id=ADMIN_P)
    await chat.press(f"ru:area:{places.c1.id}", user_id=ADMIN_P, forged=True)
    assert f"rd:{recognition.id}:passed" in chat.buttons(ADMIN_P)
    await chat.press(f"rd:{recognition.id}:passed", user_id=ADMIN_P)
    await chat.send("3/QĐ-UBND tỉnh", user_id=ADMIN_P)
    await chat.send(f"{local_today():%d/%m/%Y}", user_id=ADMIN_P)
    recognition = await recognition_of(session, places.c1.id)
    assert (recognition.status, recognition.result, recognition.decided_by_role) == ("decided", "passed", "admin")


async def test_the_setting_names_who_decides_communes(app, chat, session, places, settings):
    recognition = await ready_commune(session, places)
    await tick_all(chat, session, OFFICER, recognition.id, "commune")
    app.dispatcher["settings"] = load_settings(**{**settings.model_dump(), "commune_approver": "officer:province"})
    [refused] = await chat.press(f"rd:{recognition.id}:passed", user_id=ADMIN_P, forged=True)
    assert "chưa có quyền" in refused
    [refused] = await chat.press(f"rd:{recognition.id}:passed", user_id=OFFICER, forged=True)
    assert "chưa có quyền" in refused  # a commune's officer is below province level
    await chat.press(f"rd:{recognition.id}:passed", user_id=OFFICER_P, forged=True)
    await chat.send("9/QĐ-CAT", user_id=OFFICER_P)
    await chat.press("ry:today", user_id=OFFICER_P)
    assert (await recognition_of(session, places.c1.id)).decided_by_role == "officer"


async def hamlet_of(session, places, households: int, pledged: int):
    hamlet = await add_area(session, "H13", "Ấp Phú Quới", "hamlet", places.c1)
    await session.execute(insert(Household), [
        {"hamlet_id": hamlet.id, "code": f"H{n:03d}", "head_name": f"Hộ số {n}", "head_name_key": f"ho so {n}",
         "address": "", "size": 3} for n in range(1, households + 1)])
    rows = list(await session.scalars(select(Household).where(Household.hamlet_id == hamlet.id).order_by(Household.code)))
    await pledge_all(session, places.campaign, rows, leave_out=households - pledged)
    await grant_role(session, "telegram", "7099", "hamlet_head", "H13")
    await session.commit()
    return hamlet, rows


async def test_households_pledged_at_the_boundary_99_and_100_percent(chat, session, places):
    hamlet, rows = await hamlet_of(session, places, 100, 99)
    [shown] = await chat.send("/recognition", user_id=7099)
    assert "❌ 1b." in shown and "99/100 hộ đã ký cam kết (99%)" in shown
    assert "1 hộ chưa ký cam kết" in shown and "H100 — Hộ số 100" in shown and "H099" not in shown
    await pledge_all(session, places.campaign, rows[99:])
    await session.commit()
    [shown] = await chat.send("/recognition", user_id=7099)
    assert "✅ 1b." in shown and "100/100 hộ đã ký cam kết (100%)" in shown
    assert "hộ chưa ký cam kết" not in shown


async def test_the_head_sees_the_checklist_and_the_households_missing(chat, session, places):
    await pledge_all(session, places.campaign, places.households["H11"], leave_out=2)
    await session.commit()
    [shown] = await chat.send("/recognition", user_id=HEAD)
    assert "3/5 hộ đã ký cam kết (60%)" in shown and "Còn thiếu" in shown
    assert "2 hộ chưa ký cam kết" in shown and "H004 — Phạm Thị Hồng" in shown and "H005 — Võ Văn Tám" in shown
    assert "(chưa được đánh giá)" in shown  # the ticked criteria, not assessed yet
    assert chat.buttons(HEAD) == []  # the head sees; officers tick and decide
    [refused] = await chat.press(f"rs:register:area:{places.h11.id}", user_id=HEAD, forged=True)
    assert "chưa có quyền" in refused
    assert await count(session, Recognition) == 0


async def commune_of(session, places, hamlets: int):
    commune = await add_area(session, "C9", "Xã Thử Ngưỡng", "commune", places.province)
    made = [await add_area(session, f"C9-{n:03d}", f"Ấp {n}", "hamlet", commune) for n in range(1, hamlets + 1)]
    await grant_role(session, "telegram", "7098", "officer", "C9")
    return commune, made


@pytest.mark.parametrize("recognized, mark", [(69, "❌"), (70, "✅")])
async def test_units_recognized_at_the_boundary_69_and_70_percent(chat, session, places, recognized, mark):
    commune, hamlets = await commune_of(session, places, 100)
    await recognitions(session, places.campaign, hamlets[:recognized], status="decided", result="passed")
    await recognitions(session, places.campaign, hamlets[recognized:], status="proposed")
    await session.commit()
    [card] = await chat.press(f"ru:area:{commune.id}", user_id=7098, forged=True)
    assert f"{mark} 4." in card
    assert f"Đăng ký 100/100 (100%); công nhận {recognized}/100 ({recognized}%)" in card


async def test_units_recognized_needs_every_unit_registered(chat, session, places):
    commune, hamlets = await commune_of(session, places, 9)
    school = await add_organization(session, commune, "TH9", "Trường Tiểu học", "school")
    await recognitions(session, places.campaign, hamlets, status="decided", result="passed")
    await session.commit()
    [card] = await chat.press(f"ru:area:{commune.id}", user_id=7098, forged=True)
    assert "❌ 4." in card and "Đăng ký 9/10 (90%); công nhận 9/10 (90%)" in card
    await registrations(session, places.campaign, [school])
    await session.commit()
    [card] = await chat.press(f"ru:area:{commune.id}", user_id=7098, forged=True)
    assert "✅ 4." in card and "Đăng ký 10/10 (100%)" in card


async def test_an_effective_model_at_the_boundary_for_a_commune_and_an_agency(chat, session, places):
    agency = await add_organization(session, places.c1, "UB1", "Ủy ban xã Tân Hòa")
    await registrations(session, places.campaign, [agency])
    model = await add_model(session, "Tổ tự quản", "formal", area=places.h11)
    agency_model = await add_model(session, "4 an toàn", "active", organization=agency, type_code="bon-an-toan")
    await session.commit()
    [card] = await chat.press(f"ru:area:{places.c1.id}", user_id=OFFICER, forged=True)
    assert "❌ 1b." in card and "0 mô hình hoạt động hiệu quả" in card
    [card] = await chat.press(f"ru:org:{agency.id}", user_id=OFFICER, forged=True)
    assert "❌ 4." in card and "0 mô hình" in card
    await chat.press(f"mr:effective:{model.id}", user_id=OFFICER, forged=True)
    await chat.press(f"mr:effective:{agency_model.id}", user_id=OFFICER, forged=True)
    [card] = await chat.press(f"ru:area:{places.c1.id}", user_id=OFFICER, forged=True)
    assert "✅ 1b." in card and "1 mô hình hoạt động hiệu quả" in card
    [card] = await chat.press(f"ru:org:{agency.id}", user_id=OFFICER, forged=True)
    assert "✅ 4." in card


async def test_an_organization_registers_for_recognition_once_registered_for_the_movement(chat, session, places):
    agency = await add_organization(session, places.c1, "UB1", "Ủy ban xã Tân Hòa")
    await session.commit()
    [refused] = await chat.press(f"rs:register:org:{agency.id}", user_id=OFFICER, forged=True)
    assert "chưa đăng ký phong trào" in refused
    await chat.press(f"od:paper:{agency.id}", user_id=OFFICER, forged=True)
    await chat.press(f"rs:register:org:{agency.id}", user_id=OFFICER, forged=True)
    recognition = await fetch(session, select(Recognition).where(Recognition.organization_id == agency.id))
    assert (recognition.unit_kind, recognition.status) == ("agency", "registered")
    # Its representative sees the checklist.
    await chat.send(f"/join {agency.join_code}", user_id=REPRESENTATIVE)
    await chat.press(f"oj:yes:{agency.id}", user_id=REPRESENTATIVE)
    [shown] = await chat.press(f"oc:{agency.id}", user_id=REPRESENTATIVE)
    assert "Ủy ban xã Tân Hòa" in shown and "Tình trạng: đã đăng ký" in shown and "⬜ 1." in shown


async def test_officers_of_another_commune_and_residents_are_refused(chat, session, places):
    await grant_role(session, "telegram", "7097", "officer", "C2")
    await recognitions(session, places.campaign, [places.h11], status="proposed")
    await session.commit()
    recognition = await recognition_of(session, places.h11.id)
    for user in (7097, 4242):
        for data in (f"ru:area:{places.h11.id}", f"rs:self_assessed:area:{places.h11.id}",
                     f"rd:{recognition.id}:passed"):
            replies = await chat.press(data, user_id=user, forged=True)
            assert any("ngoài phạm vi" in r or "chưa có quyền" in r for r in replies), (user, data, replies)
    assert (await recognition_of(session, places.h11.id)).status == "proposed"


async def test_the_command_line_lists_each_unit_with_its_kind_status_and_criteria_not_met(
        session, places, cli, capsys):
    await add_organization(session, places.c1, "UB1", "Ủy ban xã Tân Hòa")
    await recognitions(session, places.campaign, [places.h11], status="decided", result="passed")
    await pledge_all(session, places.campaign, places.households["H21"], leave_out=1)
    await session.commit()
    assert await main_async(["recognition", "list", "--area", "P"]) == 0
    lines = {line.split("\t")[0]: line for line in capsys.readouterr().out.splitlines() if "\t" in line}
    assert set(lines) == {"C1", "C2", "H11", "H12", "H21", "UB1"}
    assert "\tKhu dân cư\tẤp Bình Long\tđạt\t" in lines["H11"]
    assert "\tCơ quan\tỦy ban xã Tân Hòa\tchưa đăng ký\t" in lines["UB1"]
    assert "1b (1/2 hộ đã ký cam kết (50%))" in lines["H21"] and "2 (chưa đánh giá)" in lines["H21"]
    assert await main_async(["recognition", "list", "--area", "P", "--year", "1999"]) == 1
    assert "Không có đợt thi đua năm 1999" in capsys.readouterr().err


async def test_a_province_edits_the_criteria(session, places, cli, capsys, chat):
    assert await main_async(["recognition", "criteria", "add", "--area", "P", "--kind", "hamlet", "--number", "6",
                             "--vi", "Không có cháy nổ nghiêm trọng", "--en", "No serious fire"]) == 0
    assert await main_async(["recognition", "criteria", "add", "--area", "C1", "--kind", "hamlet", "--number", "7",
                             "--vi", "X", "--en", "X"]) == 1
    await session.rollback()
    fourth = await session.scalar(select(RecognitionCriterion).where(
        RecognitionCriterion.unit_kind == "hamlet", RecognitionCriterion.number == "4"))
    await session.commit()
    assert await main_async(["recognition", "criteria", "edit", str(fourth.id), "--vi",
                             "Không có tội phạm nghiêm trọng"]) == 0
    fifth = await fetch(session, select(RecognitionCriterion).where(
        RecognitionCriterion.unit_kind == "hamlet", RecognitionCriterion.number == "5"))
    assert await main_async(["recognition", "criteria", "retire", str(fifth.id)]) == 0
    [shown] = await chat.send("/recognition", user_id=HEAD)
    assert "6. Không có cháy nổ nghiêm trọng" in shown and "4. Không có tội phạm nghiêm trọng" in shown
    assert "5. Lực lượng" not in shown


async def test_the_recognition_calendar_sets_the_milestones_and_their_reminders(session, places, cli, capsys):
    year = local_today().year + 1
    assert await main_async(["recognition", "calendar", "--area", "P", "--year", str(year)]) == 0
    await session.rollback()
    days = {m.kind: m.happens_on for m in await session.scalars(select(Milestone))}
    await session.commit()
    assert days == {"hamlet_period_end": date(year, 10, 31), "unit_period_end": date(year, 11, 15),
                    "hamlet_files_due": date(year, 11, 20), "unit_files_due": date(year, 11, 30)}
    assert await count(session, Reminder, Reminder.audience == "heads") == 3
    assert await count(session, Reminder, Reminder.audience == "representatives") == 3
    assert await main_async(["recognition", "calendar", "--area", "P", "--year", str(year)]) == 0
    assert await count(session, Reminder) == 6  # again: nothing doubled
    assert await count(session, Milestone) == 4


async def main_async(argv: list[str]) -> int:
    """The CLI in a thread (it runs its own event loop)."""
    import asyncio

    return await asyncio.to_thread(main, argv)


async def test_an_officer_adds_a_recognition_deadline_on_its_day_from_the_calendar(chat, session, places):
    await chat.send("/campaign", user_id=OFFICER)
    await chat.press("cp:add", user_id=OFFICER)
    await chat.press("cp:kind:hamlet_files_due", user_id=OFFICER)
    year = places.campaign.year
    assert chat.buttons(OFFICER)[0] == "cp:festival"  # the default day's button
    [added] = await chat.press("cp:festival", user_id=OFFICER)
    assert f"Hạn nộp hồ sơ công nhận khu dân cư “An toàn về ANTT” ngày 20/11/{year}" in added
    milestone = await fetch(session, select(Milestone))
    assert (milestone.kind, milestone.happens_on, milestone.area_id) == (
        "hamlet_files_due", date(year, 11, 20), places.c1.id)
