"""The movement's indicators in reports and /stats, each against its campaign target: hamlets and
communes recognized, agencies registered and recognized, communes with an effective model, the
models by type and those to review; the new xlsx sheets; a commune's report holds its own only."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from bot.cli.main import main
from db.services.members import grant_role
from testkit.arrange import local_today, tree
from testkit.movement import add_model, add_organization, recognitions, registrations

YEAR = local_today().year


@pytest.fixture
async def movement(session):
    """P → C1 (H11 recognized, H12 not), C2 (H21 registered); C1 recognized, C2 proposed. C1 has
    UB1 (registered, recognized) and TH1 (registered), C2 has DN1 (not registered). Models: H11
    effective, reviewed this year; C2's cameras formal; UB1 effective, never reviewed; a removed one."""
    places = await tree(session)
    campaign = places.campaign
    ub1 = await add_organization(session, places.c1, "UB1", "Ủy ban xã Tân Hòa")
    th1 = await add_organization(session, places.c1, "TH1", "Trường THCS Tân Hòa", "school")
    await add_organization(session, places.c2, "DN1", "Công ty Bình Thạnh", "enterprise")
    await registrations(session, campaign, [ub1, th1])
    await recognitions(session, campaign, [places.h11, places.c1, ub1], status="decided", result="passed")
    await recognitions(session, campaign, [places.h12], status="decided", result="failed")
    await recognitions(session, campaign, [places.h21])
    await recognitions(session, campaign, [places.c2], status="proposed")
    await add_model(session, "Tổ tự quản Bình Long", "effective", area=places.h11, groups=3, sites=3, members=40,
                    reviewed_on=date(YEAR, 3, 1))
    await add_model(session, "Camera Bình Thạnh", "formal", area=places.c2, type_code="camera-an-ninh", groups=1,
                    sites=8, members=10, reviewed_on=date(YEAR, 2, 1))
    await add_model(session, "Trường học 4 an toàn", "effective", organization=ub1, type_code="bon-an-toan",
                    groups=1, sites=1, members=25)
    await add_model(session, "Tổ đã giải thể", "removed", area=places.h12, removed_reason="Giải thể")
    await grant_role(session, "telegram", "8101", "admin", "P")
    await session.commit()
    return places


def write(tmp_path, area: str, fmt: str) -> str:
    path = tmp_path / f"{area}.{fmt}"
    assert main(["report", "--area", area, "--format", fmt, "--out", str(path)]) == 0
    return path


INDICATORS = [
    "Khu dân cư được công nhận “An toàn về ANTT”: 1/3 (33.3%), không có chỉ tiêu",
    "Xã, phường được công nhận “An toàn về ANTT”: 1/2 (50.0%), chỉ tiêu 95.0% — chưa đạt",
    "Cơ quan, doanh nghiệp, trường học đăng ký phong trào: 2/3 (66.7%), chỉ tiêu 100.0% — chưa đạt",
    "Cơ quan, doanh nghiệp, trường học được công nhận: 1/3 (33.3%), chỉ tiêu 90.0% — chưa đạt",
    "Xã, phường có ít nhất 1 mô hình hoạt động hiệu quả: 1/2 (50.0%), mọi xã, phường — chưa đạt",
]


def test_the_markdown_has_each_indicator_against_its_target_and_the_models(movement, cli, tmp_path):
    text = write(tmp_path, "P", "md").read_text(encoding="utf-8")
    for line in INDICATORS:
        assert f"- {line}" in text, line
    assert "| Tổ nhân dân tự quản về an ninh, trật tự | 1 | 1 | 3 | 3 | 40 |" in text
    assert "| Camera an ninh | 1 | 0 | 1 | 8 | 10 |" in text
    review = text.split("Mô hình cần rà soát")[1]
    assert "Camera Bình Thạnh (Xã Bình Thạnh): hình thức, cần củng cố" in review
    assert "Trường học 4 an toàn (Ủy ban xã Tân Hòa): hoạt động hiệu quả, rà soát gần nhất chưa rà soát" in review
    assert "Tổ tự quản Bình Long" not in review and "Tổ đã giải thể" not in review


def test_the_csv_carries_the_indicators_per_area(movement, cli, tmp_path):
    rows = {row["Mã"]: row for row in csv.DictReader(io.StringIO(
        write(tmp_path, "P", "csv").read_text(encoding="utf-8-sig")))}
    assert rows["P"]["Xã, phường được công nhận An toàn"] == "1"
    assert rows["P"]["Tỷ lệ xã, phường được công nhận (%)"] == "50.0"
    assert rows["P"]["Đạt chỉ tiêu xã, phường an toàn"] == "Chưa đạt"
    assert rows["C1"]["Đơn vị đăng ký phong trào"] == "2" and rows["C1"]["Đạt chỉ tiêu đơn vị đăng ký"] == "Đạt"
    assert rows["C1"]["Đạt chỉ tiêu mô hình mỗi xã"] == "Đạt" and rows["C2"]["Đạt chỉ tiêu mô hình mỗi xã"] == "Chưa đạt"
    assert rows["H11"]["Khu dân cư được công nhận An toàn"] == "1" and rows["H12"]["Khu dân cư được công nhận An toàn"] == "0"


def test_the_workbook_gains_the_recognition_models_and_agencies_sheets(movement, cli, tmp_path):
    book = load_workbook(write(tmp_path, "P", "xlsx"))
    summary = {row[0]: row[1:] for row in book["Tổng hợp"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Xã, phường được công nhận “An toàn về ANTT”"][:5] == (1, 2, 50.0, 95, "chưa đạt")
    assert summary["Cơ quan, doanh nghiệp, trường học đăng ký phong trào"][:5] == (2, 3, 66.7, 100, "chưa đạt")
    units = {row[0]: row for row in book["Công nhận An toàn"].iter_rows(min_row=2, values_only=True)}
    assert set(units) == {"C1", "C2", "H11", "H12", "H21", "UB1", "TH1", "DN1"}
    assert units["H11"][1:5] == ("Ấp Bình Long", "Khu dân cư", "Xã Tân Hòa", "đạt")
    assert units["H12"][4] == "chưa đạt" and units["C2"][4] == "đã đề nghị công nhận" and units["DN1"][4] == "chưa đăng ký"
    models = [row for row in book["Mô hình tự quản"].iter_rows(values_only=True) if row and row[0]]
    assert ("Camera an ninh", 1, 0, 1, 8, 10) in models
    agencies = {row[0]: row for row in book["Cơ quan, doanh nghiệp, trường"].iter_rows(min_row=2, values_only=True)}
    assert agencies["UB1"][2:] == ("Cơ quan", "Xã Tân Hòa", "đã đăng ký (trên giấy)", "đạt")
    assert agencies["DN1"][4] == "chưa đăng ký"


def test_a_communes_report_holds_its_own_units_only(movement, cli, tmp_path):
    book = load_workbook(write(tmp_path, "C1", "xlsx"))
    units = {row[0] for row in book["Công nhận An toàn"].iter_rows(min_row=2, values_only=True)}
    assert units == {"C1", "H11", "H12", "UB1", "TH1"}
    agencies = {row[0] for row in book["Cơ quan, doanh nghiệp, trường"].iter_rows(min_row=2, values_only=True)}
    assert agencies == {"UB1", "TH1"}
    text = write(tmp_path, "C1", "md").read_text(encoding="utf-8")
    assert "Camera Bình Thạnh" not in text
    assert "- Cơ quan, doanh nghiệp, trường học đăng ký phong trào: 2/2 (100.0%), chỉ tiêu 100.0% — đạt" in text
    assert write(tmp_path, "C1", "png").read_bytes().startswith(b"\x89PNG")


async def test_stats_shows_the_indicators(chat, movement):
    texts = await chat.send("/stats", user_id=8101)
    for line in INDICATORS:
        assert f"• {line}" in texts[0], line
