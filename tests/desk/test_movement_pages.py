"""The desk's recognition and model pages, through the HTTP routes and the chat's services: a
hamlet and a commune from registration to decision, the hamlet head's read-only checklist, an
officer of another commune refused, and the model registry added to and reviewed."""

import pytest
from sqlalchemy import select

from db.models import (
    Area,
    AuditEntry,
    Campaign,
    Household,
    ModelType,
    MovementModel,
    Recognition,
    RecognitionCriterion,
)
from db.services.members import grant_role
from testkit.arrange import tree
from testkit.delivery_fakes import FakeClock, local
from testkit.desk import start_desk
from testkit.fakes import fetch
from testkit.movement import add_model, pledge_all, recognitions

ADMIN_P, OFFICER, HEAD, OFFICER_C2 = "840001", "840002", "840003", "840004"


@pytest.fixture
async def world(app, session):
    app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    world = await tree(session, year=2026)
    await grant_role(session, "telegram", ADMIN_P, "admin", "P")
    await grant_role(session, "telegram", OFFICER, "officer", "C1")
    await grant_role(session, "telegram", HEAD, "hamlet_head", "H11")
    await grant_role(session, "telegram", OFFICER_C2, "officer", "C2")
    await session.commit()
    return world


@pytest.fixture
def ids(world) -> dict[str, int]:
    """The areas' ids, read before any rollback expires the world's objects."""
    return {"H11": world.h11.id, "H12": world.h12.id, "C1": world.c1.id}


@pytest.fixture
async def desk(app, world):
    desk = await start_desk(app)
    yield desk
    await desk.close()
    await desk.server.close()


async def as_user(desk, user: str):
    browser = desk.browser()
    await browser.login("telegram", user)
    return browser


async def recognition_of(session, area_id: int) -> Recognition | None:
    return await fetch(session, select(Recognition).where(Recognition.area_id == area_id))


async def manual_criteria(session, kind: str) -> list[RecognitionCriterion]:
    await session.rollback()
    return list(await session.scalars(select(RecognitionCriterion).where(
        RecognitionCriterion.unit_kind == kind, RecognitionCriterion.rule.is_(None))))


async def pledge_h11(session, leave_out: int = 0) -> None:
    """Pledges for H11's households but the last `leave_out`, committed (loaded afresh: the
    test's session has been rolled back since the world was made)."""
    await session.rollback()
    campaign = await session.scalar(select(Campaign))
    households = list(await session.scalars(select(Household).join(Area, Area.id == Household.hamlet_id)
                                            .where(Area.code == "H11").order_by(Household.code)))
    await pledge_all(session, campaign, households, leave_out=leave_out)
    await session.commit()


async def tick_all(browser, session, recognition_id: int, kind: str) -> None:
    for criterion in await manual_criteria(session, kind):
        answer = await browser.post(f"/recognitions/{recognition_id}/criteria/{criterion.id}", {"met": "1"})
        assert answer.status == 303, await answer.text()


async def test_a_hamlet_from_registration_to_decision_on_the_desk(desk, session, world, ids):
    officer = await as_user(desk, OFFICER)
    listing = await (await officer.get("/recognition/C1?year=2026")).text()
    assert "Ấp Bình Long" in listing and "Ấp Tân Phú" in listing and "chưa đăng ký" in listing
    page = await (await officer.get(f"/recognition/area/{ids['H11']}")).text()
    assert "0/5 hộ đã ký cam kết (0%)" in page and 'id="register"' in page
    answer = await officer.post(f"/recognition/area/{ids['H11']}/register", {"year": "2026"})
    assert answer.status == 303
    recognition = await recognition_of(session, ids['H11'])
    assert (recognition.status, recognition.campaign_id) == ("registered", world.campaign.id)
    rec_id = recognition.id
    first = (await manual_criteria(session, "hamlet"))[0]
    await officer.post(f"/recognitions/{rec_id}/criteria/{first.id}",
                       {"met": "1", "note": "Nghị quyết chi bộ ngày 15/02"})
    assert "Nghị quyết chi bộ ngày 15/02" in await (await officer.get(f"/recognition/area/{ids['H11']}")).text()
    await tick_all(officer, session, rec_id, "hamlet")
    for status in ("self_assessed", "proposed"):
        assert (await officer.post(f"/recognitions/{rec_id}/step", {"status": status})).status == 303
    # Đạt needs every criterion: the households have not all pledged; nothing is recorded.
    decision = {"result": "passed", "number": "12/QĐ-UBND", "day": "2026-08-10"}
    refused = await officer.post(f"/recognitions/{rec_id}/decision", decision)
    assert refused.status == 400 and "Chưa đủ tiêu chí để công nhận đạt: 1b" in await refused.text()
    assert (await recognition_of(session, ids['H11'])).status == "proposed"
    await pledge_h11(session)
    assert (await officer.post(f"/recognitions/{rec_id}/decision", decision)).status == 303
    recognition = await recognition_of(session, ids['H11'])
    assert (recognition.status, recognition.result, recognition.decision_number, recognition.decided_by_role) == (
        "decided", "passed", "12/QĐ-UBND", "officer")
    page = await (await officer.get(f"/recognition/area/{ids['H11']}")).text()
    assert "5/5 hộ đã ký cam kết (100%)" in page and "12/QĐ-UBND" in page and "/decision" not in page
    actions = [entry.action for entry in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("recognition_step") == 3 and actions[-1] == "recognition_decision"
    await officer.close()


async def test_a_commune_is_prepared_by_its_officer_and_decided_by_the_province(desk, session, world, ids):
    await recognitions(session, world.campaign, [world.h11, world.h12], status="decided", result="passed")
    await add_model(session, "Tổ tuần tra xã", "effective", area=world.c1, type_code="tuan-tra-dan-cu")
    await session.commit()
    officer = await as_user(desk, OFFICER)
    assert (await officer.post(f"/recognition/area/{ids['C1']}/register", {"year": "2026"})).status == 303
    rec_id = (await recognition_of(session, ids['C1'])).id
    await tick_all(officer, session, rec_id, "commune")
    for status in ("self_assessed", "proposed"):
        await officer.post(f"/recognitions/{rec_id}/step", {"status": status})
    page = await (await officer.get(f"/recognition/area/{ids['C1']}")).text()
    assert "1 mô hình hoạt động hiệu quả" in page and "công nhận 2/2 (100%)" in page
    assert "/decision" not in page  # the commune's own officer prepares the file but does not decide it
    decision = {"result": "passed", "number": "3/QĐ-UBND tỉnh", "day": "2026-08-10"}
    refused = await officer.post(f"/recognitions/{rec_id}/decision", decision)
    assert refused.status == 400 and "chưa có quyền" in await refused.text()
    admin = await as_user(desk, ADMIN_P)
    assert "/decision" in await (await admin.get(f"/recognition/area/{ids['C1']}")).text()
    assert (await admin.post(f"/recognitions/{rec_id}/decision", decision)).status == 303
    recognition = await recognition_of(session, ids['C1'])
    assert (recognition.status, recognition.result, recognition.decided_by_role) == ("decided", "passed", "admin")
    listing = await (await admin.get("/recognition/P")).text()
    assert "Xã Tân Hòa" in listing and "đạt" in listing
    await officer.close()
    await admin.close()


async def test_the_hamlet_head_reads_the_checklist_and_cannot_decide(desk, session, world, ids):
    await pledge_h11(session, leave_out=2)
    await recognitions(session, world.campaign, [world.h11], status="proposed")
    await session.commit()
    recognition = await recognition_of(session, ids['H11'])
    head = await as_user(desk, HEAD)
    page = await (await head.get(f"/recognition/area/{ids['H11']}")).text()
    assert "3/5 hộ đã ký cam kết (60%)" in page and "Còn thiếu" in page
    assert "H004 — Phạm Thị Hồng" in page and "H005 — Võ Văn Tám" in page
    assert "/decision" not in page and "/criteria/" not in page and "/step" not in page
    decision = {"result": "failed", "number": "1/QĐ", "day": "2026-08-10"}
    assert (await head.post(f"/recognitions/{recognition.id}/decision", decision)).status == 403
    assert (await head.post(f"/recognitions/{recognition.id}/step", {"status": "proposed"})).status == 403
    assert (await recognition_of(session, ids['H11'])).status == "proposed"
    assert (await head.get(f"/recognition/area/{ids['H12']}")).status == 404
    await head.close()


async def test_an_officer_of_another_commune_is_refused(desk, session, world, ids):
    await recognitions(session, world.campaign, [world.h11], status="proposed")
    await session.commit()
    recognition = await recognition_of(session, ids['H11'])
    other = await as_user(desk, OFFICER_C2)
    assert (await other.get(f"/recognition/area/{ids['H11']}")).status == 404
    assert (await other.get("/recognition/C1")).status == 404
    decision = {"result": "failed", "number": "1/QĐ", "day": "2026-08-10"}
    assert (await other.post(f"/recognitions/{recognition.id}/decision", decision)).status == 404
    assert (await other.post(f"/recognition/area/{ids['H12']}/register", {"year": "2026"})).status == 404
    assert (await recognition_of(session, ids['H11'])).status == "proposed"
    assert await recognition_of(session, ids['H12']) is None
    await other.close()


async def test_models_are_added_and_reviewed_on_the_desk(desk, session, world, ids):
    officer = await as_user(desk, OFFICER)
    page = await (await officer.get("/models/C1")).text()
    assert "Chưa có mô hình nào." in page
    model_type = await session.scalar(select(ModelType).where(ModelType.code == "to-nhan-dan-tu-quan"))
    answer = await officer.post("/models/C1", {"unit": "H11", "type": str(model_type.id), "name": "Tổ tự quản số 3",
                                               "started": "2026-03-01", "groups": "3", "sites": "5", "members": "40"})
    assert answer.status == 303, await answer.text()
    model = await fetch(session, select(MovementModel))
    assert (model.name, model.area_id, model.groups, model.sites, model.members, model.status) == (
        "Tổ tự quản số 3", ids['H11'], 3, 5, 40, "active")
    answer = await officer.post(f"/models/{model.id}/review", {"status": "effective", "groups": "4", "sites": "5",
                                                               "members": "52", "back": "C1"})
    assert answer.status == 303
    model = await fetch(session, select(MovementModel))
    assert (model.status, model.groups, model.members, model.reviewed_on.isoformat()) == (
        "effective", 4, 52, "2026-08-10")
    page = await (await officer.get("/models/C1")).text()
    assert "Tổ tự quản số 3" in page and "hoạt động hiệu quả" in page and "10/08/2026" in page
    removed = await officer.post(f"/models/{model.id}/review", {"status": "removed", "groups": "4", "sites": "5",
                                                                "members": "52"})
    assert removed.status == 400 and "cần lý do" in await removed.text()
    # Elsewhere: another commune's hamlet is out of scope; nothing is added.
    outside = await officer.post("/models/C1", {"unit": "H21", "type": str(model_type.id), "name": "Tổ khác"})
    assert outside.status == 404
    head = await as_user(desk, HEAD)
    page = await (await head.get("/models/H11")).text()
    assert "Tổ tự quản số 3" in page and "/review" not in page
    assert (await head.post(f"/models/{model.id}/review", {"status": "formal"})).status == 403
    assert (await fetch(session, select(MovementModel))).status == "effective"
    actions = [entry.action for entry in await session.scalars(select(AuditEntry))]
    assert "model" in actions and actions.count("model_review") == 2
    await officer.close()
    await head.close()
