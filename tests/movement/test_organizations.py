"""Agencies, enterprises and schools: imported from CSV (all or nothing), joined by their
representative with the unit's code, registered once per campaign in chat or from paper,
withdrawn with a reason."""

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.cli.main import main
from db.models import Member, Organization, OrganizationRegistration
from testkit.arrange import committed_rows as query, tree
from testkit.fakes import count, fetch
from testkit.movement import add_organization

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
REPRESENTATIVE, OFFICER, OFFICER_C2 = 5001, 5002, 5003


def test_the_documented_example_imports_with_a_join_code_each(cli, capsys):
    assert main(["areas", "import", str(EXAMPLES / "areas.csv")]) == 0
    assert main(["orgs", "import", str(EXAMPLES / "orgs.csv")]) == 0
    assert "3 mới" in capsys.readouterr().out
    rows = query(cli, select(Organization.code, Organization.kind, Organization.join_code))
    assert {(code, kind) for code, kind, _join in rows} == {
        ("DT-MH-UB", "agency"), ("DT-MH-THCS", "school"), ("DT-MH-XNK", "enterprise")}
    assert len({join for _code, _kind, join in rows}) == 3 and all(len(join) == 6 for *_x, join in rows)
    # Again: the same units are updated, not doubled, and keep their codes.
    assert main(["orgs", "import", str(EXAMPLES / "orgs.csv")]) == 0
    assert query(cli, select(func.count()).select_from(Organization)) == [(3,)]
    assert main(["orgs", "list", "--area", "DT"]) == 0
    listed = capsys.readouterr().out
    assert "DT-MH-THCS" in listed and "Cơ sở giáo dục" in listed


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(cli, tmp_path, capsys):
    assert main(["areas", "import", str(EXAMPLES / "areas.csv")]) == 0
    path = tmp_path / "orgs.csv"
    path.write_text(
        "commune_code,code,kind,name,address\n"
        "DT-MH,UB1,cơ quan,Ủy ban xã,\n"
        "NOWHERE,UB2,agency,Ủy ban khác,\n"
        "DT-MH,UB3,hospital,Bệnh viện,\n"
        "DT-MH,UB1,school,Trường trùng mã,\n"
        "DT-MH,DT-MH-01,school,Trùng mã ấp,\n"
        "DT-MH,UB4,doanh nghiệp,,\n",
        encoding="utf-8")
    assert main(["orgs", "import", str(path)]) == 1
    err = capsys.readouterr().err
    for line in ("Dòng 3:", "Dòng 4:", "Dòng 5:", "Dòng 6:", "Dòng 7:"):
        assert line in err, err
    assert "Dòng 2:" not in err and "NOWHERE" in err and "hospital" in err
    assert query(cli, select(func.count()).select_from(Organization)) == [(0,)]


def test_the_join_poster_of_an_organization(cli, tmp_path, capsys):
    assert main(["areas", "import", str(EXAMPLES / "areas.csv")]) == 0
    assert main(["orgs", "import", str(EXAMPLES / "orgs.csv")]) == 0
    [(join_code,)] = query(cli, select(Organization.join_code).where(Organization.code == "DT-MH-THCS"))
    out = tmp_path / "poster.png"
    assert main(["orgs", "qr", "dt-mh-thcs", "--out", str(out), "--bot", "binhyen_bot"]) == 0
    printed = capsys.readouterr().out
    assert f"https://t.me/binhyen_bot?start=j_{join_code}" in printed and f"/join {join_code}" in printed
    assert Image.open(out).size[0] > 400
    assert main(["orgs", "qr", "NOPE", "--out", str(out)]) == 1


@pytest.fixture
async def school(session):
    places = await tree(session)
    organization = await add_organization(session, places.c1, "TH1", "Trường THCS Tân Hòa", "school")
    from db.services.members import grant_role

    await grant_role(session, "telegram", str(OFFICER), "officer", "C1")
    await grant_role(session, "telegram", str(OFFICER_C2), "officer", "C2")
    await session.commit()
    return places, organization


async def registration(session):
    return await fetch(session, select(OrganizationRegistration))


async def test_the_representative_joins_with_the_code_and_registers_the_unit(chat, session, school):
    places, organization = school
    [offer] = await chat.send(f"/join {organization.join_code.lower()}", user_id=REPRESENTATIVE)
    assert "Trường THCS Tân Hòa" in offer and "Bình Yên sẽ lưu" in offer
    assert await count(session, Member, Member.user_id == str(REPRESENTATIVE)) == 0  # not before they agree
    welcome, status = await chat.send("1", user_id=REPRESENTATIVE)  # the first option, typed
    assert "người đại diện" in welcome
    assert "Bản đăng ký thi đua" in status and "chưa đăng ký phong trào" in status
    member = await fetch(session, select(Member).where(Member.user_id == str(REPRESENTATIVE)))
    assert member.organization_id == organization.id and member.consent_version is not None
    [done] = await chat.press(f"op:confirm:{organization.id}", user_id=REPRESENTATIVE)
    assert "đã đăng ký thi đua" in done
    row = await registration(session)
    assert (row.status, row.via, row.confirmed_by_role, row.campaign_id) == (
        "confirmed", "chat", "representative", places.campaign.id)
    # Once per unit and campaign: pressing again says so and adds nothing.
    [again] = await chat.press(f"op:confirm:{organization.id}", user_id=REPRESENTATIVE, forged=True)
    assert "đã đăng ký trước đó" in again
    assert await count(session, OrganizationRegistration) == 1
    # /org shows it registered, with the button to withdraw.
    [shown] = await chat.send("/org", user_id=REPRESENTATIVE)
    assert "đã đăng ký phong trào năm" in shown
    assert chat.buttons(REPRESENTATIVE) == [f"op:withdraw:{organization.id}", f"oc:{organization.id}"]


async def test_withdrawal_needs_a_reason_and_registering_again_renews_it(chat, session, school):
    _places, organization = school
    await chat.send(f"/join {organization.join_code}", user_id=REPRESENTATIVE)
    await chat.press(f"oj:yes:{organization.id}", user_id=REPRESENTATIVE)
    await chat.press(f"op:confirm:{organization.id}", user_id=REPRESENTATIVE, forged=True)
    [ask] = await chat.press(f"op:withdraw:{organization.id}", user_id=REPRESENTATIVE, forged=True)
    assert "Vì sao" in ask
    [refused] = await chat.send("\x07", user_id=REPRESENTATIVE)
    assert "Lý do cần" in refused
    assert (await registration(session)).status == "confirmed"
    [done] = await chat.send("Đơn vị sáp nhập vào trường khác", user_id=REPRESENTATIVE)
    assert "Đã rút đăng ký" in done
    row = await registration(session)
    assert (row.status, row.withdraw_reason) == ("withdrawn", "Đơn vị sáp nhập vào trường khác")
    await chat.press(f"op:confirm:{organization.id}", user_id=REPRESENTATIVE, forged=True)
    row = await registration(session)
    assert (row.status, row.withdraw_reason) == ("confirmed", "Đơn vị sáp nhập vào trường khác")
    assert await count(session, OrganizationRegistration) == 1


async def test_someone_else_cannot_register_or_withdraw_a_unit(chat, session, school):
    _places, organization = school
    [refused] = await chat.press(f"op:confirm:{organization.id}", user_id=4242, forged=True)
    assert "không phải người đại diện" in refused
    [refused] = await chat.press(f"op:withdraw:{organization.id}", user_id=4242, forged=True)
    assert "không thuộc địa bàn" in refused
    assert await count(session, OrganizationRegistration) == 0


async def test_an_officer_records_a_paper_registration_and_withdraws_it(chat, session, school):
    places, organization = school
    [listing] = await chat.send("/orgs", user_id=OFFICER)
    assert "Trường THCS Tân Hòa" in listing
    [shown] = await chat.press(f"od:open:{organization.id}", user_id=OFFICER)
    assert organization.join_code in shown and "chưa đăng ký" in shown
    [done] = await chat.press(f"od:paper:{organization.id}", user_id=OFFICER)
    assert "trên giấy" in done
    row = await registration(session)
    assert (row.status, row.via, row.confirmed_by_role) == ("confirmed", "paper", "officer")
    await chat.press(f"od:open:{organization.id}", user_id=OFFICER, forged=True)
    assert chat.buttons(OFFICER) == [f"od:withdraw:{organization.id}"]
    await chat.press(f"od:withdraw:{organization.id}", user_id=OFFICER)
    [done] = await chat.send("Đăng ký nhầm đơn vị", user_id=OFFICER)
    assert "Đã rút đăng ký" in done
    assert (await registration(session)).status == "withdrawn"


async def test_an_officer_of_another_commune_can_do_nothing_to_the_unit(chat, session, school):
    _places, organization = school
    for action in ("open", "paper", "withdraw"):
        [refused] = await chat.press(f"od:{action}:{organization.id}", user_id=OFFICER_C2, forged=True)
        assert "ngoài phạm vi" in refused or "không thuộc địa bàn" in refused
    [listing] = await chat.send("/orgs", user_id=OFFICER_C2)
    assert "Trường THCS Tân Hòa" not in listing
    assert await count(session, OrganizationRegistration) == 0


async def test_privacy_tells_the_representative_and_forgetting_keeps_the_registration(chat, session, school):
    _places, organization = school
    await chat.send(f"/join {organization.join_code}", user_id=REPRESENTATIVE)
    await chat.press(f"oj:yes:{organization.id}", user_id=REPRESENTATIVE)
    await chat.press(f"op:confirm:{organization.id}", user_id=REPRESENTATIVE, forged=True)
    [shown] = await chat.send("/privacy", user_id=REPRESENTATIVE)
    assert "Người đại diện của: Trường THCS Tân Hòa" in shown
    await chat.send("/forget", user_id=REPRESENTATIVE)
    await chat.press("forget:yes", user_id=REPRESENTATIVE)
    assert await count(session, Member, Member.user_id == str(REPRESENTATIVE)) == 0
    row = await registration(session)
    assert (row.status, row.confirmed_by_id, row.confirmed_by_role) == ("confirmed", None, "representative")


async def test_representatives_are_an_audience_of_their_communes(chat, session, school):
    from db.services.audiences import count_recipients, recipients_query

    places, organization = school
    await chat.send(f"/join {organization.join_code}", user_id=REPRESENTATIVE)
    await chat.press(f"oj:yes:{organization.id}", user_id=REPRESENTATIVE)
    await session.rollback()
    assert await count_recipients(session, recipients_query(places.c1, "representatives", None)) == 1
    assert await count_recipients(session, recipients_query(places.c2, "representatives", None)) == 0
    assert await count_recipients(session, recipients_query(places.province, "representatives", None)) == 1
    await session.commit()
