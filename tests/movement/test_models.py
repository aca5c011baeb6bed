"""Self-management models: imported from CSV (all or nothing), added and reviewed by officers in
chat (/models), seen by hamlet heads, and by residents with how to take part (/learn)."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from db.models import ModelType, MovementModel
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from testkit.arrange import committed_rows as query, local_today, tree
from testkit.fakes import count, fetch
from testkit.movement import add_model, add_organization

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
RESIDENT, HEAD, OFFICER, OFFICER_C2 = 6001, 6002, 6003, 6004


def test_the_documented_example_imports_and_again_updates(cli, capsys):
    for kind, name in (("areas", "areas.csv"), ("orgs", "orgs.csv"), ("models", "models.csv")):
        assert main([kind, "import", str(EXAMPLES / name)]) == 0
    assert "4 mới" in capsys.readouterr().out
    rows = dict(query(cli, select(MovementModel.name, MovementModel.status)))
    assert rows["Tổ nhân dân tự quản ấp Mỹ Thới"] == "effective"
    assert rows["Trường học “4 an toàn về an ninh, trật tự”"] == "formal"
    [(groups, sites, members, reviewed)] = query(cli, select(
        MovementModel.groups, MovementModel.sites, MovementModel.members, MovementModel.reviewed_on
    ).where(MovementModel.name == "Tổ nhân dân tự quản ấp Mỹ Thới"))
    assert (groups, sites, members, reviewed) == (6, 6, 120, date(2026, 6, 30))
    assert main(["models", "import", str(EXAMPLES / "models.csv")]) == 0
    assert "0 mới, 4 cập nhật" in capsys.readouterr().out
    assert query(cli, select(func.count()).select_from(MovementModel)) == [(4,)]


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(cli, tmp_path, capsys):
    assert main(["areas", "import", str(EXAMPLES / "areas.csv")]) == 0
    path = tmp_path / "models.csv"
    path.write_text(
        "unit_code,type,name,started_on,groups,sites,members,status,reviewed_on\n"
        "DT-MH-01,camera-an-ninh,Camera ấp,01/02/2024,1,3,10,hiệu quả,\n"
        "NOWHERE,camera-an-ninh,Camera,,,,,,\n"
        "DT-MH-01,no-such-type,Gì đó,,,,,,\n"
        "DT,camera-an-ninh,Cấp tỉnh,,,,,,\n"
        "DT-MH-02,camera-an-ninh,Số sai,,x,,,,\n"
        "DT-MH-02,camera-an-ninh,Ngày sai,31/02/2024,,,,,\n"
        "DT-MH-02,camera-an-ninh,Loại bỏ không lý do,,,,,removed,\n"
        "DT-MH-01,camera-an-ninh,camera ấp,,,,,,\n",
        encoding="utf-8")
    assert main(["models", "import", str(path)]) == 1
    err = capsys.readouterr().err
    for line in range(3, 10):
        assert f"Dòng {line}:" in err, err
    assert "Dòng 2:" not in err
    assert query(cli, select(func.count()).select_from(MovementModel)) == [(0,)]


def test_a_province_adds_its_own_type(cli, capsys):
    assert main(["areas", "import", str(EXAMPLES / "areas.csv")]) == 0
    assert main(["models", "type-add", "--area", "DT", "--code", "ben-do-an-toan", "--vi", "Bến đò an toàn",
                 "--en", "Safe ferry landing"]) == 0
    assert main(["models", "types", "--area", "DT-MH-01"]) == 0
    assert "ben-do-an-toan\tBến đò an toàn" in capsys.readouterr().out
    assert main(["models", "types"]) == 0  # without an area: the seeded types only
    out = capsys.readouterr().out
    assert "ben-do-an-toan" not in out and "to-nhan-dan-tu-quan" in out
    assert main(["models", "type-add", "--area", "DT-MH", "--code", "x-y", "--vi", "X", "--en", "X"]) == 1
    assert query(cli, select(func.count()).select_from(ModelType).where(ModelType.area_id.is_not(None))) == [(1,)]


@pytest.fixture
async def places(session):
    places = await tree(session)
    member = await give_consent(session, "telegram", str(RESIDENT), None)
    await join_household(session, member, places.households["H11"][0].id)
    await grant_role(session, "telegram", str(HEAD), "hamlet_head", "H11")
    await grant_role(session, "telegram", str(OFFICER), "officer", "C1")
    await grant_role(session, "telegram", str(OFFICER_C2), "officer", "C2")
    await session.commit()
    return places


async def test_an_officer_adds_a_model_by_buttons_and_typed_steps(chat, session, places):
    [listing] = await chat.send("/models", user_id=OFFICER)
    assert "Chưa có mô hình nào" in listing
    await chat.press(f"ma:{places.c1.id}", user_id=OFFICER)
    await chat.press(f"mu:{places.h11.id}", user_id=OFFICER)
    camera = await fetch(session, select(ModelType).where(ModelType.code == "camera-an-ninh"))
    await chat.press(f"mt:{camera.id}", user_id=OFFICER)
    await chat.send("Camera an ninh ấp Bình Long", user_id=OFFICER)
    [wrong] = await chat.send("3 năm", user_id=OFFICER)
    assert "ba số" in wrong
    await chat.send("2 8 35", user_id=OFFICER)
    [wrong] = await chat.send("31/02/2025", user_id=OFFICER)
    assert "Không hiểu ngày" in wrong
    await chat.send("15/03/2025", user_id=OFFICER)
    [done] = await chat.send("Hộ muốn lắp camera báo trưởng ấp", user_id=OFFICER)
    assert "Đã thêm mô hình" in done and "2 tổ, 8 điểm, 35 thành viên" in done
    model = await fetch(session, select(MovementModel))
    assert (model.area_id, model.type_id, model.status, model.started_on) == (
        places.h11.id, camera.id, "active", date(2025, 3, 15))
    assert model.how_to_join == "Hộ muốn lắp camera báo trưởng ấp"


async def test_an_organizations_model_is_added_by_its_typed_code(chat, session, places):
    school = await add_organization(session, places.c1, "TH1", "Trường THCS Tân Hòa", "school")
    await session.commit()
    await chat.press(f"ma:{places.c1.id}", user_id=OFFICER, forged=True)
    [asked] = await chat.send("th1", user_id=OFFICER)
    assert "Trường THCS Tân Hòa" in asked
    four = await fetch(session, select(ModelType).where(ModelType.code == "bon-an-toan"))
    await chat.press(f"mt:{four.id}", user_id=OFFICER)
    await chat.send("Trường học 4 an toàn", user_id=OFFICER)
    await chat.send("1 1 60", user_id=OFFICER)
    await chat.press("ms:started", user_id=OFFICER)
    await chat.press("ms:how", user_id=OFFICER)
    model = await fetch(session, select(MovementModel))
    assert (model.organization_id, model.area_id, model.started_on, model.how_to_join) == (school.id, None, None, "")


async def test_an_officer_reviews_a_model(chat, session, places):
    model = await add_model(session, "Tổ tự quản số 3", area=places.h11, groups=1, sites=1, members=12)
    await session.commit()
    [card] = await chat.press(f"mo:{model.id}", user_id=OFFICER, forged=True)
    assert "Tổ tự quản số 3" in card and "chưa rà soát" in card
    [done] = await chat.press(f"mr:effective:{model.id}", user_id=OFFICER)
    assert "hoạt động hiệu quả" in done
    row = await fetch(session, select(MovementModel))
    assert (row.status, row.reviewed_on) == ("effective", local_today())
    await chat.press(f"mr:counts:{model.id}", user_id=OFFICER, forged=True)
    await chat.send("2 3 30", user_id=OFFICER)
    row = await fetch(session, select(MovementModel))
    assert (row.groups, row.sites, row.members) == (2, 3, 30)
    await chat.press(f"mr:removed:{model.id}", user_id=OFFICER, forged=True)
    [done] = await chat.send("Không còn sinh hoạt", user_id=OFFICER)
    assert "Đã loại bỏ" in done
    row = await fetch(session, select(MovementModel))
    assert (row.status, row.removed_reason) == ("removed", "Không còn sinh hoạt")


async def test_out_of_scope_officers_and_heads_may_not_change_a_model(chat, session, places):
    model = await add_model(session, "Tổ tự quản số 3", area=places.h11)
    await session.commit()
    for user in (OFFICER_C2, HEAD, RESIDENT):
        replies = await chat.press(f"mr:effective:{model.id}", user_id=user, forged=True)
        assert any("ngoài phạm vi" in r or "chưa có quyền" in r for r in replies), replies
    await chat.press(f"ma:{places.c2.id}", user_id=OFFICER, forged=True)
    assert (await fetch(session, select(MovementModel))).status == "active"
    assert await count(session, MovementModel) == 1


async def test_the_hamlet_head_sees_the_hamlets_models(chat, session, places):
    await add_model(session, "Tổ tự quản số 3", "effective", area=places.h11, how_to_join="Họp tối thứ Bảy")
    await add_model(session, "Camera xã", area=places.c1, type_code="camera-an-ninh")
    await session.commit()
    [shown] = await chat.send("/models", user_id=HEAD)
    assert "Tổ tự quản số 3" in shown and "Họp tối thứ Bảy" in shown and "Camera xã" not in shown
    assert chat.buttons(HEAD) == []  # a head sees, officers review


async def test_a_resident_sees_the_hamlets_models_with_how_to_take_part_from_learn(chat, session, places):
    await add_model(session, "Tổ tự quản số 3", "effective", area=places.h11, how_to_join="Họp tối thứ Bảy")
    await add_model(session, "Camera ấp", area=places.h11, type_code="camera-an-ninh")
    await add_model(session, "Tổ đã giải thể", "removed", area=places.h11, removed_reason="Giải thể")
    await add_model(session, "Tổ ấp khác", area=places.h21)
    await session.commit()
    await chat.send("/learn", user_id=RESIDENT)
    [shown] = await chat.press("mm:show", user_id=RESIDENT)
    assert "Tổ tự quản số 3" in shown and "Họp tối thứ Bảy" in shown
    assert "Camera ấp" in shown and "hỏi trưởng ấp" in shown
    assert "Tổ đã giải thể" not in shown and "Tổ ấp khác" not in shown
    [outsider] = await chat.press("mm:show", user_id=4242, forged=True)
    assert "/join" in outsider


async def test_a_bidi_control_in_a_typed_name_is_refused(chat, session, places):
    await chat.press(f"ma:{places.c1.id}", user_id=OFFICER, forged=True)
    await chat.press(f"mu:{places.h11.id}", user_id=OFFICER)
    camera = await fetch(session, select(ModelType).where(ModelType.code == "camera-an-ninh"))
    await chat.press(f"mt:{camera.id}", user_id=OFFICER)
    [refused] = await chat.send("Camera \u202eấp", user_id=OFFICER)
    assert "ký tự lạ" in refused
    [asked] = await chat.send("Camera ấp", user_id=OFFICER)  # still at the step
    assert "ba số" in asked
