"""What the desk's pages show and do, through the HTTP routes: the overview's targets and the
areas below lowest first, the households' filters, exports made by the report's own code,
broadcasts and the calendar through the chat's services, and the audit log."""

import pytest
from sqlalchemy import select

from db.models import AuditEntry, Broadcast, Delivery, Member, Milestone, Pledge
from db.services.members import grant_role
from testkit.arrange import tree
from testkit.delivery_fakes import FakeClock, local
from testkit.desk import start_desk

ADMIN, OFFICER, HEAD = "830001", "830002", "830003"


@pytest.fixture
async def desk(app, session):
    app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    world = await tree(session, year=2026)
    # H11's first household pledged: C1 is ahead of C2, which must come first.
    session.add(Pledge(household_id=world.households["H11"][0].id, campaign_id=world.campaign.id,
                       status="confirmed", pledge_version="2026.1", locale="vi",
                       confirmed_by_role="resident"))
    await grant_role(session, "telegram", ADMIN, "admin", "P")
    await grant_role(session, "telegram", OFFICER, "officer", "C1")
    await grant_role(session, "telegram", HEAD, "hamlet_head", "H11")
    resident = Member(channel="telegram", user_id="830099", role="resident",
                      household_id=world.households["H11"][1].id)
    session.add(resident)
    await session.commit()
    desk = await start_desk(app)
    yield desk
    await desk.close()
    await desk.server.close()


async def test_the_overview_shows_every_target_and_the_areas_below_lowest_first(desk):
    await desk.login("telegram", ADMIN)
    text = await (await desk.get("/area/P")).text()
    assert "Hộ gia đình ký cam kết giao ước thi đua: 100%" in text and "chưa đạt" in text
    assert text.index("Xã Bình Thạnh") < text.index("Xã Tân Hòa")  # 0% before 20%
    by_name = await (await desk.get("/area/P?sort=name&dir=desc")).text()
    assert by_name.index("Xã Tân Hòa") < by_name.index("Xã Bình Thạnh")
    fragment = await (await desk.get("/area/P?sort=name", headers={"HX-Request": "true", "HX-Target": "children"})).text()
    assert fragment.lstrip().startswith("<table") and "<html" not in fragment


async def test_a_hamlets_households_filter_the_unpledged(desk):
    await desk.login("telegram", HEAD)
    everyone = await (await desk.get("/hamlet/H11")).text()
    unpledged = await (await desk.get("/hamlet/H11?show=unpledged")).text()
    assert "Nguyễn Văn An" in everyone and "Nguyễn Văn An" not in unpledged and "Trần Thị Bích" in unpledged


async def test_exports_are_the_reports_own(desk):
    await desk.login("telegram", OFFICER)
    csv = await desk.get("/area/C1/export.csv")
    body = (await csv.read()).decode("utf-8")
    assert csv.headers["Content-Disposition"].endswith('binhyen-C1-2026.csv"')
    assert body.startswith("\ufeff") and "Ấp Bình Long" in body
    xlsx = await desk.get("/area/C1/export.xlsx")
    assert (await xlsx.read())[:2] == b"PK"
    png = await desk.get("/area/C1/export.png")
    assert (await png.read())[:4] == b"\x89PNG"
    svg = await desk.get("/area/C1/chart.svg")
    assert svg.content_type == "image/svg+xml" and b"<script" not in await svg.read()


async def test_a_broadcast_from_the_desk_goes_out_like_one_from_chat(desk, session):
    await desk.login("telegram", HEAD)
    count = await desk.get("/broadcasts/recipients?area=H11&audience=all")
    assert "người sẽ nhận" in await count.text()
    refused = await desk.post("/broadcasts", {"area": "H11", "audience": "all", "text": "Khẩn", "urgent": "1"})
    assert refused.status == 400 and "khẩn" in (await refused.text()).lower()
    answer = await desk.post("/broadcasts", {"area": "H11", "audience": "all", "text": "Họp tổ tự quản tối nay."})
    assert answer.status == 303
    broadcast = await session.scalar(select(Broadcast))
    assert broadcast.status == "sending" and broadcast.urgent is False
    assert await session.scalar(select(Delivery).where(Delivery.broadcast_id == broadcast.id)) is not None
    listing = await (await desk.get("/broadcasts")).text()
    assert "Họp tổ tự quản tối nay." in listing
    actions = [entry.action for entry in await session.scalars(select(AuditEntry))]
    assert actions == ["login", "broadcast"]


async def test_the_calendar_adds_a_milestone_and_the_admin_reads_the_audit(desk, session):
    await desk.login("telegram", OFFICER)
    answer = await desk.post("/calendar/C1/milestones", {"kind": "custom", "title": "Họp dân quý III",
                                                          "day": "2026-09-15", "year": "2026"})
    assert answer.status == 303
    page = await (await desk.get("/calendar/C1")).text()
    assert "Họp dân quý III" in page and "15/09/2026" in page
    assert await session.scalar(select(Milestone.title)) == "Họp dân quý III"
    wrong = await desk.post("/calendar/C1/milestones", {"kind": "custom", "title": "X", "day": "2031-01-01",
                                                         "year": "2026"})
    assert wrong.status == 400
    admin = desk.browser()
    await admin.login("telegram", ADMIN)
    audit = await (await admin.get("/audit")).text()
    assert "Thêm hoặc dời mốc chiến dịch" in audit and "telegram:830002" in audit
    await admin.close()
