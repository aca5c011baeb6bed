"""Reports in every format and language: safe sheet names, hidden small tip counts, the share of
the areas below meeting the targets, readable summaries, clear errors and charts of every area."""

import csv
import io
import struct

import pytest
from openpyxl import Workbook, load_workbook

from base.reports.build import build_report
from base.reports.charts import BAR_INCHES, bar_order
from base.reports.xlsx import sheet_title
from bot.cli.main import main
from db.models import Tip
from db.services.areas import add_area
from db.services.campaigns import create_campaign
from db.services.members import grant_role
from testkit.arrange import add_households, local_today
from tests.reports.test_tallies import TZ, YEAR, fixture  # noqa: F401  (fixture: P → D → C1 (H1, H2), C2 (H3))

ENGLISH_SHEETS = ["Summary", "District", "Commune-ward", "Hamlet", "Progress", "Tips by kind", "Recognition",
                  "Self-management models", "Agencies, enterprises, schools"]


@pytest.fixture
def cli(database_url, monkeypatch):
    """`binhyen` on the test database."""
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    return main


def report(cli, tmp_path, area: str, fmt: str, *extra: str) -> object:
    """Write a report and read it back: a workbook, text, or the PNG's bytes."""
    path = tmp_path / f"{area}-{'-'.join(extra) or 'vi'}.{fmt}"
    assert cli(["report", "--area", area, "--format", fmt, "--out", str(path), *extra]) == 0
    if fmt == "xlsx":
        return load_workbook(path)
    if fmt == "png":
        return path.read_bytes()
    return path.read_text(encoding="utf-8-sig")


def csv_rows(text: str) -> dict[str, dict[str, str]]:
    """The csv's rows by area code."""
    return {line["Mã"]: line for line in csv.DictReader(io.StringIO(text))}


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG header."""
    return struct.unpack(">II", png[16:24])


def test_sheet_names_are_what_excel_accepts_and_unique():
    taken: set[str] = set()
    assert sheet_title("Commune/ward", taken) == "Commune-ward"
    assert sheet_title("a:b\\c?d*e[f]g", taken) == "a-b-c-d-e-f-g"
    long = sheet_title("Ấp, khóm, thôn, tổ dân phố, bản, buôn, làng", taken)
    assert len(long) == 31 and long.startswith("Ấp, khóm, thôn, tổ dân phố")
    assert sheet_title("commune/WARD", taken) == "commune-WARD (2)"  # Excel ignores case
    assert sheet_title("Ấp, khóm, thôn, tổ dân phố, bản, buôn, làng", taken).endswith(" (2)")
    assert sheet_title("'[]'", taken) == "Sheet"
    book = Workbook()
    for title in taken:
        book.create_sheet(title)  # openpyxl refuses what Excel would


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_format_in_both_languages_for_a_province_a_commune_and_a_hamlet(cli, fixture, tmp_path, lang):
    for area in ("P", "C1", "H1"):
        book = report(cli, tmp_path, area, "xlsx", "--lang", lang)
        text = report(cli, tmp_path, area, "md", "--lang", lang)
        table = report(cli, tmp_path, area, "csv", "--lang", lang)
        png = report(cli, tmp_path, area, "png", "--lang", lang)
        assert png.startswith(b"\x89PNG")
        assert ("Households reached" in text) == (lang == "en") and ("Hộ được tuyên truyền" in text) == (lang == "vi")
        assert table.splitlines()[0].startswith("Level," if lang == "en" else "Cấp,")
        if lang == "en" and area == "P":
            assert book.sheetnames == ENGLISH_SHEETS
    assert report(cli, tmp_path, "C1", "xlsx", "--lang", lang).sheetnames[1] == (
        "Hamlet" if lang == "en" else "Ấp, khóm, thôn, tổ dân phố")


@pytest.fixture
async def lone_tips(session):
    """Province Q → commune X → hamlets X1, X2, X3 of three households; X1 has the only two
    tips (drugs, one handled). Officer 8008 of X."""
    province = await add_area(session, "Q", "Tỉnh Q", "province", None)
    commune = await add_area(session, "X", "Xã X", "commune", province)
    hamlets = [await add_area(session, f"X{n}", f"Ấp {n}", "hamlet", commune) for n in (1, 2, 3)]
    for hamlet in hamlets:
        await add_households(session, hamlet, ["An", "Bình", "Chi"], hamlet.code)
    await create_campaign(session, province, YEAR, "Năm nay", pledge_version="2026.1")
    for number, status in enumerate(("handled", "received")):
        session.add(Tip(area_id=hamlets[0].id, kind="drugs", status=status, sealed=b"x", code_hash=f"x{number}",
                        code_salt=b"s" * 16, reply_key=b"k" * 32))
    await grant_role(session, "telegram", "8008", "officer", "X")
    await session.commit()


def test_a_lone_hamlets_tips_cannot_be_told_apart_in_any_format(cli, lone_tips, tmp_path):
    tip_columns = ["Tin báo nhận được", "Tin báo đã xử lý"]
    # The commune's own numbers are exact; its hamlets' all read "<5", zeros too.
    rows = csv_rows(report(cli, tmp_path, "X", "csv"))
    assert [rows["X"][c] for c in tip_columns] == ["2", "1"]
    assert {tuple(rows[h][c] for c in tip_columns) for h in ("X1", "X2", "X3")} == {("<5", "<5")}
    text = report(cli, tmp_path, "X", "md")
    assert "Tin báo nhận được: 2; đã xử lý: 1" in text
    children = [line for line in text.splitlines() if line.startswith("| Ấp ")]
    assert len(children) == 3 and all("| <5 | <5 |" in line for line in children)
    assert "“<5”: dưới 5 tin báo (kể cả không có)" in text
    book = report(cli, tmp_path, "X", "xlsx")
    hamlets = book["Ấp, khóm, thôn, tổ dân phố"]
    header = [cell.value for cell in hamlets[1]]
    tips = [header.index(c) + 1 for c in tip_columns]
    assert {hamlets.cell(r, c).value for r in (2, 3, 4) for c in tips} == {"<5"}
    # The total is the real sum, written as a number; the hamlets' tip total is left out.
    assert hamlets.cell(5, 1).value == "Tổng cộng" and hamlets.cell(5, header.index("Số hộ") + 1).value == 9
    assert [hamlets.cell(5, c).value for c in tips] == [None, None]
    assert all(not str(cell.value or "").startswith("=") for line in hamlets.iter_rows() for cell in line)
    # Each hamlet's own report, and /stats, say the same for X1 (2 tips) as for X2 (none).
    for fmt in ("md", "csv"):
        one, two = (report(cli, tmp_path, h, fmt) for h in ("X1", "X2"))
        assert one.replace("X1", "X2").replace("Ấp 1", "Ấp 2") == two
    one, two = (report(cli, tmp_path, h, "xlsx") for h in ("X1", "X2"))
    assert [[c.value for c in line] for line in one["Tin báo theo loại"].iter_rows()] == \
        [[c.value for c in line] for line in two["Tin báo theo loại"].iter_rows()]


@pytest.fixture
async def one_small_hamlet(session):
    """Province R → commune Y → hamlets Y1 (2 tips), Y2 (7), Y3 (9), all of kind drugs."""
    province = await add_area(session, "R", "Tỉnh R", "province", None)
    commune = await add_area(session, "Y", "Xã Y", "commune", province)
    await create_campaign(session, province, YEAR, "Năm nay", pledge_version="2026.1")
    for number, tips in ((1, 2), (2, 7), (3, 9)):
        hamlet = await add_area(session, f"Y{number}", f"Ấp {number}", "hamlet", commune)
        await add_households(session, hamlet, ["An", "Bình"], hamlet.code)
        for n in range(tips):
            session.add(Tip(area_id=hamlet.id, kind="drugs", status="received", sealed=b"x",
                            code_hash=f"y{number}-{n}", code_salt=b"s" * 16, reply_key=b"k" * 32))
    await session.commit()


def test_a_lone_small_count_is_not_left_to_be_worked_out_from_the_total(cli, one_small_hamlet, tmp_path):
    """Were Y1's "<5" the only hidden count, 18 − 7 − 9 would give it: Y2, the smallest of the
    others, is hidden too (as "≥5"), in every format."""
    rows = csv_rows(report(cli, tmp_path, "Y", "csv"))
    received = "Tin báo nhận được"
    assert [rows[code][received] for code in ("Y", "Y1", "Y2", "Y3")] == ["18", "<5", "≥5", "9"]
    text = report(cli, tmp_path, "Y", "md")
    children = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| Ấp ")}
    assert "| <5 |" in children["Ấp 1"] and "| ≥5 |" in children["Ấp 2"] and "| 9 |" in children["Ấp 3"]
    assert "“≥5”: từ 5 tin báo trở lên" in text
    hamlets = report(cli, tmp_path, "Y", "xlsx")["Ấp, khóm, thôn, tổ dân phố"]
    column = [cell.value for cell in hamlets[1]].index(received) + 1
    assert [hamlets.cell(r, column).value for r in (2, 3, 4)] == ["<5", "≥5", 9]
    # A hamlet's own report shows its own count, with nothing beside it to subtract.
    assert csv_rows(report(cli, tmp_path, "Y2", "csv"))["Y2"][received] == "7"


def test_the_hidden_counts_of_a_group():
    from base.reports.table import shown_tip_counts

    assert shown_tip_counts([2, 7, 9]) == ["<5", "≥5", 9]
    assert shown_tip_counts([9, 7, 0, 7]) == [9, "≥5", "<5", 7]  # one of the smallest only
    assert shown_tip_counts([2, 0, 9]) == ["<5", "<5", 9]  # two hidden: neither can be worked out
    assert shown_tip_counts([3]) == ["<5"] and shown_tip_counts([6]) == [6]
    assert shown_tip_counts([5, 6]) == [5, 6]


async def test_stats_cannot_tell_a_lone_hamlets_tips_apart(chat, lone_tips):
    [one, _photo] = await chat.send("/stats X1", user_id=8008)
    [two, _photo] = await chat.send("/stats X2", user_id=8008)
    assert one.replace("Ấp 1", "Ấp 2") == two and "Tin báo nhận được: <5" in one
    [commune, _photo] = await chat.send("/stats", user_id=8008)
    assert "Tin báo nhận được: 2" in commune and "Tin báo đã xử lý: 1" in commune


def test_the_share_of_areas_below_meeting_the_targets_in_csv_and_xlsx(cli, fixture, tmp_path):
    columns = ["Địa bàn trực thuộc được xét", "Địa bàn trực thuộc đạt chỉ tiêu tuyên truyền",
               "Tỷ lệ địa bàn đạt chỉ tiêu tuyên truyền (%)", "Đạt mục tiêu địa bàn (tuyên truyền)",
               "Địa bàn trực thuộc đạt chỉ tiêu cam kết", "Tỷ lệ địa bàn đạt chỉ tiêu cam kết (%)",
               "Đạt mục tiêu địa bàn (cam kết)"]
    rows = csv_rows(report(cli, tmp_path, "P", "csv"))
    # The province and its district are judged on their two communes; a commune on its hamlets.
    assert [rows["P"][c] for c in columns] == ["2", "1", "50.0", "Chưa đạt", "1", "50.0", "Chưa đạt"]
    assert [rows["D"][c] for c in columns] == ["2", "1", "50.0", "Chưa đạt", "1", "50.0", "Chưa đạt"]
    assert [rows["C1"][c] for c in columns] == ["2", "1", "50.0", "Chưa đạt", "2", "100.0", "Đạt"]
    assert {rows["H1"][c] for c in columns} == {"—"}
    summary = report(cli, tmp_path, "P", "xlsx")["Tổng hợp"]
    lines = {line[0]: line[1:] for line in summary.iter_rows(values_only=True) if line and line[0]}
    assert lines["Xã, phường đạt chỉ tiêu tuyên truyền"][:5] == (1, 2, 50.0, 95, "chưa đạt")
    assert lines["Xã, phường đạt chỉ tiêu cam kết"][:5] == (1, 2, 50.0, 95, "chưa đạt")
    header = [cell.value for cell in summary[1]]
    assert summary.cell(2, header.index("Tỷ lệ địa bàn đạt chỉ tiêu tuyên truyền (%)") + 1).value == 50.0
    assert summary.cell(3, header.index("Tỷ lệ địa bàn đạt chỉ tiêu tuyên truyền (%)") + 1).value == 95  # target
    commune = report(cli, tmp_path, "C1", "xlsx")["Tổng hợp"]
    lines = {line[0]: line[1:] for line in commune.iter_rows(values_only=True) if line and line[0]}
    assert lines["Ấp, khóm, thôn, tổ dân phố đạt chỉ tiêu cam kết"][:5] == (2, 2, 100.0, 95, "đạt")
    text = report(cli, tmp_path, "P", "md")
    assert "  - Xã, phường đạt chỉ tiêu này: 1/2 (50.0%), mục tiêu 95.0% — chưa đạt" in text


@pytest.fixture
async def empty_hamlet(session, fixture):  # noqa: F811
    """H9, a hamlet of C2 with no households yet."""
    await add_area(session, "H9", "Ấp Trống", "hamlet", fixture["areas"]["C2"])
    await session.commit()


def test_a_hamlets_summary_has_broadcasts_and_no_verdict_without_households(cli, empty_hamlet, tmp_path):
    text = report(cli, tmp_path, "H1", "md")
    assert "- Thông báo đã gửi: 1; tin nhắn đã đến: 2; tỷ lệ gửi thành công: 66.7%" in text
    assert "Tin báo nhận được: <5; đã xử lý: <5" in text
    text = report(cli, tmp_path, "H9", "md")
    assert "chỉ tiêu 70.0% — không có số liệu" in text and "chưa đạt" not in text
    assert "tỷ lệ gửi thành công: —" in text
    english = report(cli, tmp_path, "H9", "md", "--lang", "en")
    assert "target 70.0% — no data" in english


def test_report_errors_are_said_plainly(cli, fixture, tmp_path, capsys):
    out = tmp_path / "r.md"
    assert cli(["report", "--area", "P", "--campaign", "1999", "--format", "md", "--out", str(out)]) == 1
    assert "Không có đợt thi đua năm 1999 cho Tỉnh." in capsys.readouterr().err
    assert cli(["report", "--area", "P", "--format", "md", "--out", str(tmp_path / "nope" / "r.md")]) == 2
    assert f"Không có thư mục {tmp_path / 'nope'} để ghi r.md." in capsys.readouterr().err
    assert cli(["report", "--area", "P", "--format", "xlsx", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "là một thư mục" in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.fixture
async def many_communes(session):
    """Province R with 45 communes (a hamlet of one to three households each), S with 3."""
    province = await add_area(session, "R", "Tỉnh R", "province", None)
    for number in range(45):
        commune = await add_area(session, f"R{number:02d}", f"Xã {number:02d}", "commune", province)
        await add_households(session, await add_area(session, f"R{number:02d}-1", "Ấp", "hamlet", commune),
                             ["An"] * (1 + number % 3), f"R{number:02d}")
    small = await add_area(session, "S", "Tỉnh S", "province", None)
    for number in range(3):
        await add_area(session, f"S{number}", f"Xã {number}", "commune", small)
    for area in (province, small):
        await create_campaign(session, area, YEAR, "Năm nay", pledge_version="2026.1")
    await session.commit()
    return province


def test_the_chart_draws_every_area_below(cli, many_communes, tmp_path):
    """Provinces after the 2025 reform have about 100 communes: none is left off the chart."""
    chart = report(cli, tmp_path, "R", "png")
    assert png_size(chart)[1] >= 45 * BAR_INCHES * 110 > png_size(report(cli, tmp_path, "S", "png"))[1]


async def test_the_chart_puts_the_lowest_pledge_rates_first(session, fixture):  # noqa: F811
    from base.i18n import make_i18n, use_locale

    with use_locale(make_i18n("vi"), "vi"):
        drawn = bar_order(await build_report(session, fixture["areas"]["D"], local_today(), TZ))
    assert [x.area.code for x in drawn] == ["C2", "C1"]  # 50% pledged, then 100%
