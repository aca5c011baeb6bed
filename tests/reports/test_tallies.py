"""Tallies against numbers computed by hand: roll-up over four levels, targets, snapshots, reports."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.cli.main import main
from db.models import Broadcast, Campaign, Delivery, Household, Member, Pledge, QuizAttempt, Reading, Tally, Tip
from db.services import tallies as t
from db.services.areas import add_area
from db.services.campaigns import create_campaign
from db.services.members import grant_role
from testkit.arrange import add_households, local_today
from testkit.fakes import fetch

YEAR = local_today().year
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def fixture(session):
    """P → D → C1 (H1: 4 households, H2: 6), C2 (H3: 10); the counts are in the test names."""
    p = await add_area(session, "P", "Tỉnh", "province", None)
    d = await add_area(session, "D", "Huyện", "district", p)
    c1 = await add_area(session, "C1", "Xã Một", "commune", d)
    c2 = await add_area(session, "C2", "Xã Hai", "commune", d)
    h1 = await add_area(session, "H1", "Ấp Một", "hamlet", c1)
    h2 = await add_area(session, "H2", "Ấp Hai", "hamlet", c1)
    h3 = await add_area(session, "H3", "Ấp Ba", "hamlet", c2)
    campaign = await create_campaign(session, p, YEAR, "Năm nay", pledge_version="2026.1")
    old = await create_campaign(session, p, YEAR - 1, "Năm trước", pledge_version="2026.1")
    a = await add_households(session, h1, [f"A{i}" for i in range(4)], "A")
    b = await add_households(session, h2, [f"B{i}" for i in range(6)], "B")
    c = await add_households(session, h3, [f"C{i}" for i in range(10)], "C")
    pending = Household(hamlet_id=h1.id, code="P1", head_name="Chờ", head_name_key="cho", status="pending")
    session.add(pending)
    await session.flush()
    # On the bot: two households of H1 (one with a Telegram and a Zalo member), one of H3.
    for channel, user, household in (("telegram", "1", a[0]), ("zalo", "1", a[0]), ("telegram", "2", a[1]),
                                      ("telegram", "3", c[0]), ("telegram", "4", pending)):
        session.add(Member(channel=channel, user_id=user, household_id=household.id))
    await session.flush()
    members = {m.user_id + m.channel: m for m in await session.scalars(select(Member))}
    # Reached: H1 three households (a[0] twice), H3 seven; other campaign and no-household ignored.
    readings = [(a[0], members["1telegram"].id), (a[0], members["1zalo"].id), (a[1], None), (a[2], None)]
    readings += [(household, None) for household in c[:7]]
    for household, member_id in readings:
        session.add(Reading(member_id=member_id, household_id=household.id, campaign_id=campaign.id,
                            article_id=f"x{household.id}{member_id}", article_version="1"))
    session.add(Reading(household_id=b[0].id, campaign_id=old.id, article_id="old", article_version="1"))
    session.add(Reading(household_id=None, campaign_id=campaign.id, article_id="none", article_version="1"))
    # Pledged: all of H1 and H2, five of H3 (plus one withdrawn, not counted).
    for household in a + b + c[:5]:
        session.add(Pledge(household_id=household.id, campaign_id=campaign.id, status="confirmed",
                           pledge_version="2026.1", locale="vi", confirmed_by_role="resident"))
    session.add(Pledge(household_id=c[5].id, campaign_id=campaign.id, status="withdrawn",
                       pledge_version="2026.1", locale="vi", confirmed_by_role="resident"))
    # Quizzes: H1 3/3 and 1/3; H3 2/4; an unfinished one is ignored.
    done = datetime.now(timezone.utc)
    for household, score, total, finished in ((a[0], 3, 3, done), (a[1], 1, 3, done), (c[0], 2, 4, done),
                                              (c[1], 4, 4, None)):
        session.add(QuizAttempt(household_id=household.id, campaign_id=campaign.id, article_id="q",
                                article_version="1", answers=[], score=score, total=total,
                                finished_at=finished))
    # Tips: H1 three about drugs (one handled), C1 one at commune level, H3 six thefts (two
    # closed), and one in H3 last year (not counted).
    tips = [(h1, "drugs", "handled"), (h1, "drugs", "received"), (h1, "drugs", "checking"),
            (c1, "gambling", "received")] + [(h3, "theft", "closed")] * 2 + [(h3, "theft", "received")] * 4
    for number, (area, kind, status) in enumerate(tips):
        session.add(Tip(area_id=area.id, kind=kind, status=status, sealed=b"x", code_hash=f"h{number}",
                        code_salt=b"s" * 16, reply_key=b"k" * 32))
    session.add(Tip(area_id=h3.id, kind="theft", status="received", sealed=b"x", code_hash="old",
                    code_salt=b"s" * 16, reply_key=b"k" * 32,
                    created_at=datetime(YEAR - 1, 6, 1, tzinfo=timezone.utc)))
    # Broadcasts: H1 done (2 sent, 1 unreachable, plus the count sent back to its sender),
    # C2 sending (1 sent, 1 pending), and a cancelled one that counts nowhere.
    sent_at = datetime(YEAR, 3, 1, 2, 0, tzinfo=timezone.utc)
    outcomes = {(h1, "done"): ["sent", "sent", "unreachable"], (c2, "sending"): ["sent", "pending"],
                (h2, "cancelled"): []}
    for (area, status), rows in outcomes.items():
        item = Broadcast(area_id=area.id, audience="all", text="Họp", status=status, send_at=sent_at)
        session.add(item)
        await session.flush()
        for number, outcome in enumerate(rows):
            session.add(Delivery(source=f"broadcast:{item.id}", broadcast_id=item.id, channel="telegram",
                                 chat_id=str(number), text="Họp", status=outcome))
        if status == "done":
            session.add(Delivery(source=f"broadcast:{item.id}:report", broadcast_id=item.id,
                                 channel="telegram", chat_id="99", text="3/3", status="sent"))
    await session.commit()
    return {"campaign": campaign, "areas": {x.code: x for x in (p, d, c1, c2, h1, h2, h3)}}


async def test_every_indicator_rolls_up_the_tree_as_computed_by_hand(session, fixture):
    campaign, areas = fixture["campaign"], fixture["areas"]
    tallies = await t.compute_tallies(session, campaign, areas["P"], TZ)
    expected = {  # households, on bot, reached, pledged, quiz attempts
        "H1": (4, 2, 3, 4, 2), "H2": (6, 0, 0, 6, 0), "H3": (10, 1, 7, 5, 1),
        "C1": (10, 2, 3, 10, 2), "C2": (10, 1, 7, 5, 1), "D": (20, 3, 10, 15, 3), "P": (20, 3, 10, 15, 3),
    }
    for code, numbers in expected.items():
        counts = tallies.areas[areas[code].id].counts
        assert tuple(int(counts[k]) for k in (t.HOUSEHOLDS, t.ON_BOT, t.REACHED, t.PLEDGED,
                                              t.QUIZ_ATTEMPTS)) == numbers, code
    by_code = {code: tallies.areas[area.id] for code, area in areas.items()}
    assert by_code["H1"].share(t.REACHED) == 75.0 and by_code["H3"].share(t.REACHED) == 70.0
    assert by_code["H1"].average_quiz_score() == pytest.approx(66.667, abs=0.01)
    assert by_code["D"].average_quiz_score() == pytest.approx(100 * (1 + 1 / 3 + 0.5) / 3)
    assert by_code["H2"].average_quiz_score() is None
    # Targets: 70% reached, 100% pledged.
    assert [by_code[c].meets(t.REACHED, campaign) for c in ("H1", "H2", "H3", "C1", "C2", "D")] == \
        [True, False, True, False, True, False]
    assert [by_code[c].meets(t.PLEDGED, campaign) for c in ("H1", "H2", "H3", "C1", "C2", "D")] == \
        [True, True, False, True, False, False]
    # The share meeting the targets: a commune's hamlets; the communes below a district or a
    # province (not the province's one district), against the 95% goal.
    assert tallies.units_meeting(by_code["C1"], t.REACHED) == (1, 2)
    assert tallies.units_meeting(by_code["C1"], t.PLEDGED) == (2, 2)
    assert tallies.units_meeting(by_code["D"], t.REACHED) == (1, 2)
    assert tallies.units_meeting(by_code["P"], t.REACHED) == (1, 2)
    assert tallies.units_meeting(by_code["P"], t.PLEDGED) == (1, 2)
    assert [x.area.code for x in tallies.units_of(by_code["P"])] == ["C2", "C1"]  # by name
    assert tallies.units_share(by_code["P"], t.REACHED) == 50.0
    assert tallies.units_meet_goal(by_code["P"], t.REACHED) is False
    assert tallies.units_meet_goal(by_code["C1"], t.PLEDGED) is True
    assert tallies.units_meeting(by_code["H1"], t.REACHED) == (0, 0)
    assert tallies.units_meet_goal(by_code["H1"], t.REACHED) is None
    tips = {code: (int(by_code[code].counts[t.TIPS_RECEIVED]), int(by_code[code].counts[t.TIPS_HANDLED]))
            for code in ("H1", "H2", "H3", "C1", "C2", "P")}
    assert tips == {"H1": (3, 1), "H2": (0, 0), "H3": (6, 2), "C1": (4, 1), "C2": (6, 2), "P": (10, 3)}
    assert by_code["C1"].counts[t.by_kind(t.TIPS_RECEIVED, "drugs")] == 3
    assert by_code["C1"].counts[t.by_kind(t.TIPS_RECEIVED, "gambling")] == 1
    assert by_code["P"].counts[t.by_kind(t.TIPS_HANDLED, "theft")] == 2
    broadcasts = {code: tuple(int(by_code[code].counts[k]) for k in (t.BROADCASTS, t.DELIVERIES_SENT,
                                                                    t.DELIVERIES_TOTAL))
                  for code in ("H1", "H2", "C2", "P")}
    assert broadcasts == {"H1": (1, 2, 3), "H2": (0, 0, 0), "C2": (1, 1, 1), "P": (2, 3, 4)}


async def test_small_tip_counts_are_hidden_below_commune_level_only(session, fixture):
    from base.reports.table import row, tips_by_kind

    tallies = await t.compute_tallies(session, fixture["campaign"], fixture["areas"]["P"], TZ)
    by_code = {code: tallies.areas[area.id] for code, area in fixture["areas"].items()}

    def tips(code):
        values = row(tallies, by_code[code])
        return values[t.TIPS_RECEIVED], values[t.TIPS_HANDLED]

    assert tips("H1") == ("<5", "<5") and tips("H3") == (6, "<5")
    assert tips("H2") == ("<5", "<5")  # zero too: an exact 0 beside the commune's total would tell
    assert tips("C1") == (4, 1) and tips("D") == (10, 3)
    h2_kinds = {kind: (received, handled) for kind, received, handled in tips_by_kind(by_code["H2"])}
    assert set(h2_kinds.values()) == {("<5", "<5")}
    assert dict((kind, received) for kind, received, _ in tips_by_kind(by_code["H1"]))["drugs"] == "<5"
    assert dict((kind, received) for kind, received, _ in tips_by_kind(by_code["C1"]))["drugs"] == 3
    assert dict((kind, received) for kind, received, _ in tips_by_kind(by_code["C1"]))["theft"] == 0


async def test_a_commune_report_sees_only_its_subtree(session, fixture):
    tallies = await t.compute_tallies(session, fixture["campaign"], fixture["areas"]["C1"], TZ)
    assert set(tallies.areas) == {fixture["areas"][c].id for c in ("C1", "H1", "H2")}
    assert int(tallies.root.counts[t.HOUSEHOLDS]) == 10


async def test_snapshots_replace_the_day_and_build_the_history(session, fixture):
    campaign, areas = fixture["campaign"], fixture["areas"]
    household = await session.scalar(select(Household).where(Household.code == "C007"))
    rows = await t.sync_tallies(session, campaign, date(YEAR, 3, 1), TZ)
    assert rows == 7 * len(t.QUERIES)
    await t.sync_tallies(session, campaign, date(YEAR, 3, 1), TZ)
    session.add(Pledge(household_id=household.id, campaign_id=campaign.id, status="confirmed",
                       pledge_version="2026.1", locale="vi", confirmed_by_role="resident"))
    await session.flush()
    await t.sync_tallies(session, campaign, date(YEAR, 3, 2), TZ)
    await session.commit()
    series = await t.history(session, campaign, areas["P"], [t.PLEDGED])
    assert series[t.PLEDGED] == [(date(YEAR, 3, 1), 15.0), (date(YEAR, 3, 2), 16.0)]
    stored = await fetch(session, select(Tally.value).where(
        Tally.area_id == areas["H3"].id, Tally.indicator == t.REACHED, Tally.day == date(YEAR, 3, 2)))
    assert stored == 7.0


def test_reports_in_every_format(database_url, fixture, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["tallies", "sync"]) == 0
    assert "Năm nay" in capsys.readouterr().out
    for fmt in ("xlsx", "csv", "md", "png"):
        assert main(["report", "--area", "P", "--format", fmt, "--out", str(tmp_path / f"r.{fmt}")]) == 0
    book = load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames == ["Tổng hợp", "Huyện, quận", "Xã, phường", "Ấp, khóm, thôn, tổ dân phố", "Tiến độ",
                               "Tin báo theo loại", "Công nhận An toàn", "Mô hình tự quản",
                               "Cơ quan, doanh nghiệp, trường"]
    hamlets = book["Ấp, khóm, thôn, tổ dân phố"]
    hamlet_header = [cell.value for cell in hamlets[1]]
    tip_column = hamlet_header.index("Tin báo nhận được") + 1
    assert [hamlets.cell(r, tip_column).value for r in (2, 3, 4)] == ["<5", "<5", 6]
    # "Khóm 1" is in every commune: each hamlet says which commune it belongs to.
    parent_column = hamlet_header.index("Trực thuộc") + 1
    assert [hamlets.cell(r, parent_column).value for r in (2, 3, 4)] == ["Xã Một", "Xã Một", "Xã Hai"]
    by_kind = {sheet_row[0].value: sheet_row[1].value for sheet_row in book["Tin báo theo loại"].iter_rows(min_row=2)}
    assert by_kind["Ma túy"] == 3 and by_kind["Trộm cắp"] == 6
    communes = book["Xã, phường"]
    header = [cell.value for cell in communes[1]]
    assert header[:7] == ["Địa bàn", "Mã", "Trực thuộc", "Số hộ", "Hộ dùng Bình Yên", "Hộ được tuyên truyền",
                          "Tỷ lệ tuyên truyền (%)"]
    c1 = [cell.value for cell in communes[2]]
    assert c1[:7] == ["Xã Một", "C1", "Huyện", 10, 2, 3, 30.0]
    met_column = header.index("Đạt chỉ tiêu tuyên truyền") + 1
    assert communes.cell(2, met_column).value == "Chưa đạt"
    assert communes.cell(2, met_column).fill.fgColor.rgb.endswith("FFC7CE")
    assert communes.cell(3, met_column).fill.fgColor.rgb.endswith("C6EFCE")
    # Totals are the real numbers (no SUM formula skipping "<5" cells), with their rates.
    assert communes.cell(4, 1).value == "Tổng cộng" and communes.cell(4, 4).value == 20
    assert communes.cell(4, header.index("Tin báo nhận được") + 1).value == 10
    assert communes.cell(4, header.index("Tỷ lệ tuyên truyền (%)") + 1).value == 50.0
    assert communes.cell(5, 1).value == "Chỉ tiêu" and communes.cell(5, 7).value == 70
    progress = book["Tiến độ"]
    assert progress.cell(2, 2).value == 10 and progress.cell(2, 5).value == 75.0
    csv_text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert "Ấp, khóm, thôn, tổ dân phố\",Ấp Ba,H3,Xã Hai,10,1,7,70.0,Đạt,5,50.0,Chưa đạt,1,50.0" in csv_text
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "Hộ ký cam kết: 15 (75.0%), chỉ tiêu 100.0% — chưa đạt" in markdown
    assert "Tin báo nhận được: 10; đã xử lý: 3" in markdown
    assert "Thông báo đã gửi: 2; tin nhắn đã đến: 3; tỷ lệ gửi thành công: 75.0%" in markdown
    assert "| Huyện | 20 | 3 | 10 | 50.0 | Chưa đạt | 15 | 75.0 | Chưa đạt | 3 | 61.1 | 10 | 3 | 2 | 3 | 75.0 |" in markdown
    png = (tmp_path / "r.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_reports_in_english(database_url, fixture, monkeypatch, tmp_path):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["report", "--area", "C1", "--format", "md", "--lang", "en",
                 "--out", str(tmp_path / "r.md")]) == 0
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "Households reached" in text and "Households" in text and "Hộ" not in text.split("\n", 3)[3]


def test_a_report_of_an_unknown_area_or_year(database_url, fixture, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["report", "--area", "NOPE", "--format", "md", "--out", str(tmp_path / "r.md")]) == 1
    assert "Không có địa bàn mã NOPE" in capsys.readouterr().err
    assert main(["report", "--area", "P", "--campaign", "1999", "--format", "md",
                 "--out", str(tmp_path / "r.md")]) == 1
    assert "Không có đợt thi đua" in capsys.readouterr().err


async def test_stats_in_chat_for_each_role(chat, session, fixture):
    await grant_role(session, "telegram", "3003", "hamlet_head", "H1")
    await grant_role(session, "telegram", "4004", "officer", "C1")
    await session.commit()
    [numbers, photo] = await chat.send("/stats", user_id=3003)
    assert "Ấp Một" in numbers and "Số hộ: 4" in numbers and "Tỷ lệ tuyên truyền (%): 75.0" in numbers
    assert "Tin báo nhận được: <5" in numbers and "Tin báo đã xử lý: <5" in numbers
    assert "đạt chỉ tiêu tuyên truyền" not in numbers  # a hamlet has no areas below to judge
    sent_photo = [r for r in chat.session.requests if type(r).__name__ == "SendPhoto"][-1]
    assert sent_photo.photo.data.startswith(b"\x89PNG")
    [numbers, _photo] = await chat.send("/stats", user_id=4004)
    assert "Xã Một" in numbers
    assert "Ấp, khóm, thôn, tổ dân phố đạt chỉ tiêu tuyên truyền: 1/2 (50.0%), mục tiêu 95% — chưa đạt" in numbers
    assert "Tin báo nhận được: 4" in numbers
    [reply] = await chat.send("/stats C2", user_id=4004)
    assert "ngoài phạm vi" in reply
    [reply] = await chat.send("/stats", user_id=1001)
    assert "chưa có quyền" in reply


async def test_the_daily_job_stores_the_snapshot_in_local_time(session, fixture):
    from datetime import timedelta

    from db.session import make_sessionmaker
    from scheduler import jobs
    from scheduler.jobs import JobContext

    class At:
        def now(self):  # 23:45 in Vietnam is 16:45 UTC
            return datetime(YEAR, 5, 4, 16, 45, tzinfo=timezone.utc)

    from zoneinfo import ZoneInfo

    context = JobContext(make_sessionmaker(session.bind), ZoneInfo("Asia/Ho_Chi_Minh"), None,
                         timedelta(hours=12), None, At())
    rows = await jobs.snapshot_tallies(context=context)
    assert rows == 7 * len(t.QUERIES)
    stored = await fetch(session, select(Tally.value).where(
        Tally.area_id == fixture["areas"]["P"].id, Tally.indicator == t.PLEDGED, Tally.day == date(YEAR, 5, 4)))
    assert stored == 15.0


async def test_a_commune_counts_alone_what_the_province_counts_for_it(session, fixture):
    areas = fixture["areas"]
    whole = await t.compute_tallies(session, fixture["campaign"], areas["P"], TZ)
    alone = await t.compute_tallies(session, fixture["campaign"], areas["C1"], TZ)
    for code in ("C1", "H1", "H2"):
        area_id = areas[code].id
        assert {k: v for k, v in alone.areas[area_id].counts.items() if v} == \
            {k: v for k, v in whole.areas[area_id].counts.items() if v}, code


async def test_a_communes_report_reads_only_its_own_rows(session, fixture, backend):
    """Each query of a commune's report looks its rows up through the commune's hamlets,
    households or broadcasts: none reads a table, or a whole campaign, and drops the rest."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL plans from its statistics; on this tiny fixture it rightly scans")
    areas, campaign = fixture["areas"], fixture["campaign"]
    ids = tuple(area.id for code, area in areas.items() if code in ("C1", "H1", "H2"))
    start, end = t.campaign_period(campaign, TZ)
    scope = t.Scope(campaign, areas["C1"], ids, start, end)
    connection = await session.connection()
    for name, query in t.QUERIES.items():
        sql = query(scope).compile(connection.engine.sync_engine, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()]
        for step in plan:
            assert not step.startswith("SCAN"), (name, plan)
            # A campaign's rows are read by household, or by the unit they are about (a hamlet's or
            # commune's recognition, an organization's registration): never the whole campaign.
            assert "campaign_id" not in step or any(
                key in step for key in ("household_id", "area_id", "organization_id")), (name, plan)
            assert "deliveries" not in step or "broadcast_id" in step, (name, plan)


async def test_the_campaign_year_is_taken_in_the_bots_time_zone(session, fixture):
    """A tip at 01:00 on 1 January in Vietnam (18:00 UTC the day before) is of the new year."""
    areas, campaign = fixture["areas"], fixture["campaign"]
    old = await session.scalar(select(Campaign).where(Campaign.year == YEAR - 1))
    new_year_night = datetime(YEAR, 1, 1, 1, 0, tzinfo=TZ)
    old_year_evening = datetime(YEAR - 1, 12, 31, 23, 30, tzinfo=TZ)
    for number, moment in enumerate((new_year_night, old_year_evening)):
        session.add(Tip(area_id=areas["C2"].id, kind="gambling", status="received", sealed=b"x",
                        code_hash=f"tz{number}", code_salt=b"s" * 16, reply_key=b"k" * 32,
                        created_at=moment.astimezone(timezone.utc)))
        session.add(Broadcast(area_id=areas["C2"].id, audience="all", text="Họp", status="done",
                              send_at=moment))
    await session.commit()
    this_year = await t.compute_tallies(session, campaign, areas["C2"], TZ)
    last_year = await t.compute_tallies(session, old, areas["C2"], TZ)
    gambling = t.by_kind(t.TIPS_RECEIVED, "gambling")
    assert (this_year.root.counts[gambling], this_year.root.counts[t.BROADCASTS]) == (1, 2)
    assert (last_year.root.counts[gambling], last_year.root.counts[t.BROADCASTS]) == (1, 1)
    assert last_year.root.counts[t.TIPS_RECEIVED] == 2  # with June's theft


async def until_waiting_for_a_lock(engine) -> None:
    """Until another transaction waits for a row lock (PostgreSQL); SQLite's second writer waits
    at BEGIN, so there a moment is enough."""
    import asyncio

    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        await asyncio.sleep(0.2)
        return
    for _ in range(400):
        async with engine.connect() as connection:
            if await connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                            "AND datname = current_database()")):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the second sync never reached the rows the first holds")


async def test_two_syncs_at_the_same_moment_both_succeed(engine, session, fixture):
    """`binhyen tallies sync` while the daily job stores the same day: neither fails."""
    import asyncio

    from db.session import make_sessionmaker

    campaign, day = fixture["campaign"], date(YEAR, 3, 1)
    sessions = make_sessionmaker(engine)
    async with sessions() as first, sessions() as second:
        await first.begin()
        assert await t.sync_tallies(first, campaign, day, TZ) == 7 * len(t.QUERIES)

        async def sync_second() -> int:
            async with second.begin():
                return await t.sync_tallies(second, campaign, day, TZ)

        waiting = asyncio.create_task(sync_second())  # writes the same rows while the first is open
        await until_waiting_for_a_lock(engine)
        await first.commit()
        assert await waiting == 7 * len(t.QUERIES)
    stored = await fetch(session, select(func.count()).select_from(Tally).where(Tally.day == day))
    assert stored == 7 * len(t.QUERIES)


async def test_the_daily_job_caught_up_after_midnight_stores_its_evening(session, fixture):
    from datetime import timedelta

    from db.session import make_sessionmaker
    from scheduler import jobs
    from scheduler.jobs import JobContext

    class At:
        def now(self):  # 00:20 in Vietnam, the day after
            return datetime(YEAR, 5, 5, 0, 20, tzinfo=TZ)

    context = JobContext(make_sessionmaker(session.bind), TZ, None, timedelta(hours=12), None, At())
    await jobs.snapshot_tallies(context=context, run_time=datetime(YEAR, 5, 4, 23, 45, tzinfo=TZ))
    days = set(await session.scalars(select(Tally.day).distinct()))
    assert days == {date(YEAR, 5, 4)}


async def test_the_scheduler_gives_the_daily_job_the_time_it_was_due(engine, session, fixture):
    """Run late (the process slept past midnight), the job stores under the day it was due."""
    import asyncio
    from datetime import timedelta

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

    from db.session import make_sessionmaker
    from scheduler.jobs import JobContext
    from scheduler.planner import Planner
    from testkit.delivery_fakes import FakeClock

    due = datetime.now(TZ) - timedelta(hours=1)
    clock = FakeClock(due + timedelta(days=1))  # what the job would take for "now" is tomorrow
    context = JobContext(make_sessionmaker(engine), TZ, None, timedelta(hours=12), None, clock)
    planner = Planner(context, engine.url.render_as_string(hide_password=False))
    ran = asyncio.Event()
    planner.scheduler.add_listener(lambda event: event.job_id == "tallies-snapshot" and ran.set(),
                                   EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    try:
        await planner.start(paused=True)
        planner.scheduler.modify_job("tallies-snapshot", next_run_time=due)
        planner.scheduler.resume()
        await asyncio.wait_for(ran.wait(), 10)
    finally:
        planner.shutdown()
    days = set(await session.scalars(select(Tally.day).distinct()))
    assert days == {due.date()}


async def test_stats_for_an_admin_with_no_area_shows_the_first_province(chat, session, fixture):
    await grant_role(session, "telegram", "7007", "admin", None)
    await session.commit()
    [numbers, _photo] = await chat.send("/stats", user_id=7007)
    assert "— Tỉnh, năm" in numbers and "Số hộ: 20" in numbers and "Tin báo nhận được: 10" in numbers
    # The seeds' 95% is of communes: the province's two communes, not its one district.
    assert "Xã, phường đạt chỉ tiêu tuyên truyền: 1/2 (50.0%), mục tiêu 95% — chưa đạt" in numbers
    assert "Xã, phường đạt chỉ tiêu cam kết: 1/2 (50.0%), mục tiêu 95% — chưa đạt" in numbers
    [numbers, _photo] = await chat.send("/stats H3", user_id=7007)
    assert "Ấp Ba" in numbers and "Tin báo nhận được: 6" in numbers and "Tin báo đã xử lý: <5" in numbers


async def test_a_residents_reading_and_pledge_in_chat_show_in_stats(chat, session, fixture):
    """A resident of H3 presses "Đã đọc" and confirms the pledge; the hamlet head's /stats moves."""
    from db.services.joining import give_consent, join_household

    household = await session.scalar(select(Household).where(Household.code == "C010"))
    await grant_role(session, "telegram", "6006", "hamlet_head", "H3")
    resident = await give_consent(session, "telegram", "5005", None)
    await join_household(session, resident, household.id)
    await session.commit()
    [before, _photo] = await chat.send("/stats", user_id=6006)
    assert "Hộ dùng Bình Yên: 2" in before  # C001 and, since joining, C010
    assert "Hộ được tuyên truyền: 7" in before and "Hộ ký cam kết: 5" in before
    await chat.send("/learn", user_id=5005)
    await chat.press(chat.buttons(5005)[0], user_id=5005)  # the first topic
    await chat.press(next(b for b in chat.buttons(5005) if b.startswith("learn:a:")), user_id=5005)
    [read] = await chat.press(next(b for b in chat.buttons(5005) if b.startswith("learn:r:")), user_id=5005)
    assert "đã được tuyên truyền" in read
    await chat.send("/pledge", user_id=5005)
    [confirmed] = await chat.press("pledge:confirm", user_id=5005)
    assert "Cảm ơn" in confirmed
    [after, _photo] = await chat.send("/stats", user_id=6006)
    assert "Hộ được tuyên truyền: 8" in after and "Tỷ lệ tuyên truyền (%): 80.0" in after
    assert "Hộ ký cam kết: 6" in after and "Tỷ lệ ký cam kết (%): 60.0" in after
