"""Roles: granted from the CLI, checked by one middleware, scoped to the area tree (/area)."""

import pytest
from sqlalchemy import select

from bot.cli.main import main
from db.models import Area, Member
from db.services.areas import add_area
from db.services.members import grant_role, scope_covers
from db.text import Problem


@pytest.fixture
async def tree(session):
    """Province P → communes C1, C2 → hamlets H11, H12, H21, with households."""
    province = await add_area(session, "P", "Tỉnh Thử", "province", None)
    c1 = await add_area(session, "C1", "Xã Tân Hòa", "commune", province)
    c2 = await add_area(session, "C2", "Xã Bình Thạnh", "commune", province)
    h11 = await add_area(session, "H11", "Ấp Bình Long", "hamlet", c1)
    await add_area(session, "H12", "Ấp Tân Phú", "hamlet", c1)
    await add_area(session, "H21", "Ấp Hòa Bình", "hamlet", c2)
    from db.models import Household
    for number, hamlet in enumerate([h11, h11, h11], start=1):
        session.add(Household(hamlet_id=hamlet.id, code=f"A{number}", head_name="Lê Văn Tám",
                              head_name_key="le van tam", address="", size=3))
    await session.commit()
    return province


async def test_a_resident_is_refused_the_staff_command(chat, tree):
    [reply] = await chat.send("/area", user_id=1001)
    assert "chưa có quyền" in reply


async def test_a_hamlet_head_sees_their_hamlet_and_not_the_next(chat, session, tree):
    await grant_role(session, "telegram", "3003", "hamlet_head", "H11")
    await session.commit()
    [reply] = await chat.send("/area", user_id=3003)
    assert "Ấp Bình Long" in reply and "3 hộ" in reply
    [reply] = await chat.send("/area H12", user_id=3003)
    assert "ngoài phạm vi" in reply


async def test_an_officer_sees_the_commune_with_hamlet_counts_and_is_refused_elsewhere(chat, session, tree):
    await grant_role(session, "telegram", "4004", "officer", "C1")
    await session.commit()
    [reply] = await chat.send("/area", user_id=4004)
    assert "Xã Tân Hòa" in reply and "3 hộ" in reply
    assert "• Ấp Bình Long (H11): 3 hộ" in reply
    assert "• Ấp Tân Phú (H12): 0 hộ" in reply
    [reply] = await chat.send("/area c2", user_id=4004)
    assert "ngoài phạm vi" in reply
    [reply] = await chat.send("/area h11", user_id=4004)
    assert "Ấp Bình Long" in reply
    [reply] = await chat.send("/area <b>KHÔNG</b>", user_id=4004)
    assert "Không có địa bàn mã <b>KHÔNG</b>" in reply  # shown as typed, never as markup


async def test_the_head_and_the_officer_above_see_the_hamlets_join_code(app, chat, session, tree):
    await grant_role(session, "telegram", "3003", "hamlet_head", "H11")
    await grant_role(session, "telegram", "4004", "officer", "C1")
    await session.commit()
    code = await session.scalar(select(Area.join_code).where(Area.code == "H11"))
    [reply] = await chat.send("/area", user_id=3003)
    assert f"Mã tham gia của ấp: {code}. Trên Zalo, bà con gõ: /join {code}" in reply
    assert "t.me" not in reply  # no Telegram username set: no link
    [reply] = await chat.send("/area", user_id=4004)
    assert f"• Ấp Bình Long (H11): 3 hộ, mã tham gia {code}" in reply
    app.dispatcher["settings"] = app.settings.model_copy(update={"telegram_bot_username": "binhyen_bot"})
    [reply] = await chat.send("/area H11", user_id=4004)
    assert f"Trên Telegram: https://t.me/binhyen_bot?start=j_{code}" in reply
    [reply] = await chat.send("/area", user_id=1001)
    assert "chưa có quyền" in reply and code not in reply


async def test_an_admin_without_an_area_sees_everything(chat, session, tree):
    await grant_role(session, "telegram", "5005", "admin", None)
    await session.commit()
    [reply] = await chat.send("/area", user_id=5005)
    assert "Tỉnh Thử (P): 3 hộ" in reply
    [reply] = await chat.send("/area C2", user_id=5005)
    assert "Xã Bình Thạnh" in reply


async def test_role_scopes_follow_the_tree(session, tree):
    head = await grant_role(session, "telegram", "1", "hamlet_head", "H11")
    areas = {a.code: a for a in (await session.scalars(select(head.area.__class__))).all()}
    assert scope_covers(head, areas["H11"]) and not scope_covers(head, areas["C1"])
    resident = await grant_role(session, "telegram", "2", "resident", None)
    assert not scope_covers(resident, areas["H11"])
    assert not scope_covers(None, areas["H11"])


@pytest.mark.parametrize(
    ("role", "area", "fragment"),
    [("hamlet_head", "C1", "không gắn được"), ("officer", "H11", "không gắn được"),
     ("officer", None, "cần một địa bàn"), ("officer", "NOPE", "Không có địa bàn")],
)
async def test_a_role_must_fit_its_area(session, tree, role, area, fragment):
    with pytest.raises(Problem) as problem:
        await grant_role(session, "telegram", "9", role, area)
    assert fragment in str(problem.value)


def test_grant_from_the_command_line(database_url, monkeypatch, capsys, backend):
    import asyncio

    from db.session import make_engine, make_sessionmaker

    async def arrange():
        engine = make_engine(database_url)
        async with make_sessionmaker(engine)() as session, session.begin():
            province = await add_area(session, "P", "Tỉnh Thử", "province", None)
            await add_area(session, "C1", "Xã Tân Hòa", "commune", province)
        await engine.dispose()

    asyncio.run(arrange())
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    args = ["members", "grant", "--channel", "telegram", "--user", "777", "--role", "officer"]
    assert main([*args, "--area", "c1"]) == 0
    assert "officer (C1)" in capsys.readouterr().out
    assert main([*args, "--area", "P9"]) == 1
    assert "Không có địa bàn mã P9" in capsys.readouterr().err
    assert main(["members", "list"]) == 0
    assert "telegram\t777\tofficer\tC1" in capsys.readouterr().out


@pytest.mark.parametrize("channel", ["telegram", "console"])
async def test_a_role_for_a_user_id_that_is_not_a_number_is_refused(session, tree, channel):
    """Telegram and console users are numbers: a member "abc" could never be anyone."""
    with pytest.raises(Problem) as refused:
        await grant_role(session, channel, "abc", "officer", "C1")
    assert refused.value.params["user"] == "abc"
    assert await session.scalar(select(Member).where(Member.user_id == "abc")) is None
    member = await grant_role(session, "zalo", "e4ea2cd5189df1c3a88c", "officer", "C1")  # Zalo ids are text
    assert member.role == "officer"


def test_the_command_line_refuses_a_telegram_user_id_that_is_not_a_number(database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    assert main(["members", "grant", "--channel", "telegram", "--user", "abc", "--role", "admin"]) == 1
    assert "là một số" in capsys.readouterr().err
    assert main(["members", "list"]) == 0
    assert "abc" not in capsys.readouterr().out


async def test_members_are_per_channel(session, tree):
    await grant_role(session, "telegram", "42", "officer", "C1")
    await grant_role(session, "zalo", "42", "hamlet_head", "H11")
    roles = dict((await session.execute(select(Member.channel, Member.role))).all())
    assert roles == {"telegram": "officer", "zalo": "hamlet_head"}
