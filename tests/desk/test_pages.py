"""What the desk's pages show and do, through the HTTP routes: the overview's targets and the
areas below lowest first, the households' filters, exports made by the report's own code,
broadcasts and the calendar through the chat's services, and the audit log."""

import asyncio
import csv
import io

import openpyxl
import pytest
from sqlalchemy import select

from bot.cli.main import main
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


@pytest.mark.parametrize("show, expected", [(None, ["H001", "H002", "H003", "H004", "H005"]),
                                            ("unpledged", ["H002", "H003", "H004", "H005"]),
                                            ("unreached", ["H001", "H002", "H003", "H004", "H005"])])
async def test_a_hamlets_exports_hold_exactly_the_rows_the_page_shows(desk, show, expected):
    await desk.login("telegram", HEAD)
    query = f"?show={show}" if show else ""
    page = await (await desk.get(f"/hamlet/H11{query}")).text()
    assert [code for code in expected if f"<td>{code}</td>" in page] == expected
    assert f"/hamlet/H11/export.xlsx?year=2026{'&amp;show=' + show if show else ''}" in page
    csv_answer = await desk.get(f"/hamlet/H11/export.csv{query}")
    stem = f"binhyen-H11-2026-households{'-' + show if show else ''}"
    assert csv_answer.headers["Content-Disposition"] == f'attachment; filename="{stem}.csv"'
    body = (await csv_answer.read()).decode("utf-8")
    assert body.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(body[1:])))
    assert lines[0] == ["Mã", "Chủ hộ", "Địa chỉ", "Ký cam kết", "Tuyên truyền"]
    assert [line[0] for line in lines[1:]] == expected
    assert ("Nguyễn Văn An" in body) == ("H001" in expected)
    assert all(line[3] == ("có" if line[0] == "H001" else "chưa") and line[4] == "chưa" for line in lines[1:])
    xlsx = await desk.get(f"/hamlet/H11/export.xlsx{query}")
    assert xlsx.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(await xlsx.read())).active
    table = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    assert table[0] == lines[0] and table[1:] == lines[1:]
    png = await desk.get(f"/hamlet/H11/export.png{query}")
    assert png.content_type == "image/png" and (await png.read())[:8] == b"\x89PNG\r\n\x1a\n"


async def test_binhyen_report_households_writes_the_desks_own_file(desk, database_url, monkeypatch, tmp_path,
                                                                   capsys):
    await desk.login("telegram", HEAD)
    downloaded = await (await desk.get("/hamlet/H11/export.csv?show=unpledged")).read()
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    out = tmp_path / "h11.csv"
    args = ["report", "--area", "H11", "--households", "unpledged", "--format", "csv", "--out", str(out)]
    assert await asyncio.wait_for(asyncio.to_thread(main, args), 60) == 0
    assert out.read_bytes() == downloaded
    refused = ["report", "--area", "C1", "--households", "all", "--format", "csv", "--out", str(tmp_path / "c1.csv")]
    assert await asyncio.wait_for(asyncio.to_thread(main, refused), 60) == 2
    assert "chỉ có cho một ấp" in capsys.readouterr().err and not (tmp_path / "c1.csv").exists()


async def test_a_hamlets_export_in_english_and_out_of_a_hamlet(desk):
    await desk.login("telegram", OFFICER)
    assert (await desk.get("/hamlet/C1/export.csv")).status == 404  # a commune has no household list
    await desk.post("/language", {"lang": "en", "back": "/"})
    body = (await (await desk.get("/hamlet/H11/export.csv?show=unpledged")).read()).decode("utf-8")
    assert body.splitlines()[0] == "\ufeffCode,Head of household,Address,Pledged,Reached"


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
