"""Getting into the desk: one-time links from /dashboard and the CLI, sessions, logout, the
security headers, Origin and CSRF checks, and a member whose role is taken away."""

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from db.models import DeskLink, DeskSession
from db.services.members import grant_role
from testkit.arrange import tree
from testkit.delivery_fakes import FakeClock, local
from testkit.desk import start_desk

HEAD, OFFICER, ADMIN = "800001", "800002", "800003"


@pytest.fixture
async def world(session, app):
    app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    world = await tree(session, year=2026)
    await grant_role(session, "telegram", HEAD, "hamlet_head", "H11")
    await grant_role(session, "telegram", OFFICER, "officer", "C1")
    await grant_role(session, "telegram", ADMIN, "admin", "P")
    await session.commit()
    return world


@pytest.fixture
async def desk(app, world):
    desk = await start_desk(app)
    yield desk
    await desk.close()
    await desk.server.close()


async def test_without_a_session_the_home_page_explains_how_to_get_a_link_and_shows_no_data(desk):
    answer = await desk.get("/")
    text = await answer.text()
    assert answer.status == 200
    assert "/dashboard" in text and "Xã Tân Hòa" not in text
    overview = await desk.get("/area/P")
    assert overview.status == 303 and overview.headers["Location"] == "/desk/"


async def test_dashboard_in_a_private_chat_sends_a_link_that_logs_in_once(desk, chat, session):
    replies = await chat.send("/dashboard", user_id=int(OFFICER))
    [link] = [word for reply in replies for word in reply.split() if "/login/" in word]
    assert link.startswith("http://127.0.0.1:8080/desk/login/")
    path = link.removeprefix("http://127.0.0.1:8080/desk")
    stored = await session.scalar(select(DeskLink.token_hash))
    assert path.rsplit("/", 1)[1] not in stored  # only a hash is kept
    page = await desk.get(path)
    assert page.status == 200 and "Đăng nhập" in await page.text()
    # Opening the page (a crawler's fetch) used nothing up: the button does.
    again = await desk.get(path)
    assert again.status == 200
    answer = await desk.open_link(path)
    assert answer.status == 303 and "binhyen_desk" in answer.cookies
    cookie = answer.cookies["binhyen_desk"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/desk/"
    home = await desk.get("/", allow_redirects=True)
    assert "Xã Tân Hòa" in await home.text()
    desk.http.cookie_jar.clear()
    refused = await desk.open_link(path)
    assert refused.status == 410


async def test_a_link_expires_after_ten_minutes(desk, app):
    link = await desk.link_for("telegram", HEAD)
    app.dispatcher["clock"].advance(11 * 60)
    answer = await desk.open_link(link)
    assert answer.status == 410


async def test_a_link_in_a_group_is_refused(world, chat, session):
    replies = await chat.send("/dashboard", user_id=int(OFFICER), chat_id=-100500)
    assert "tin nhắn riêng" in replies[0]  # the private-commands rule answers in every group
    assert await session.scalar(select(func.count(DeskLink.id))) == 0


def test_the_cli_prints_a_link_for_staff_and_refuses_a_resident(database_url, capsys, monkeypatch):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    monkeypatch.setenv("BINHYEN_WEB_URL", "https://binhyen.example.org/desk")
    assert main(["demo-data", "--households", "3"]) == 0  # its admin is console user 4
    capsys.readouterr()
    assert main(["web", "link", "--user", "4", "--channel", "console"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://binhyen.example.org/desk/login/") and len(link) > 60
    assert main(["web", "link", "--user", "999", "--channel", "console"]) == 1
    assert "không phải cán bộ" in capsys.readouterr().err


async def test_security_headers_on_every_page(desk):
    for path in ("/", "/login/nothing", "/static/desk.css"):
        answer = await desk.get(path)
        csp = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"


async def test_a_post_from_another_origin_or_without_the_token_changes_nothing(desk, session):
    await desk.login("telegram", OFFICER)
    before = await session.scalar(select(func.count(DeskSession.id)))
    for origin, csrf in (("https://evil.example", "page"), (None, "page"), ("null", "page"), ("same", "wrong"),
                         ("same", None)):
        answer = await desk.post("/logout", origin=origin, csrf=csrf)
        assert answer.status == 403
    # "null" (a form under no-referrer) only with the browser's own Sec-Fetch-Site: cross-site is refused.
    answer = await desk.post("/logout", origin="null", headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status == 403
    await session.rollback()
    assert await session.scalar(select(func.count(DeskSession.id))) == before
    answer = await desk.post("/logout")
    assert answer.status == 303
    await session.rollback()
    assert await session.scalar(select(func.count(DeskSession.id))) == before - 1
    assert (await desk.get("/area/P")).status == 303


async def test_a_member_whose_role_is_removed_is_logged_out_on_the_next_request(desk, session):
    await desk.login("telegram", OFFICER)
    assert (await desk.get("/area/C1")).status == 200
    await grant_role(session, "telegram", OFFICER, "resident", None)
    await session.commit()
    answer = await desk.get("/area/C1")
    assert answer.status == 303
    await session.rollback()
    assert await session.scalar(select(func.count(DeskSession.id))) == 0


async def test_a_session_ends_after_twelve_idle_hours(desk, app):
    await desk.login("telegram", OFFICER)
    app.dispatcher["clock"].advance(11 * 3600)
    assert (await desk.get("/area/C1")).status == 200
    app.dispatcher["clock"].advance(11 * 3600)
    assert (await desk.get("/area/C1")).status == 200
    app.dispatcher["clock"].advance(12 * 3600 + 1)
    assert (await desk.get("/area/C1")).status == 303


async def test_english_from_the_same_catalogs(desk):
    await desk.login("telegram", OFFICER)
    answer = await desk.post("/language", {"lang": "en", "back": "/desk/area/C1"})
    assert answer.status == 303 and answer.headers["Location"] == "/desk/area/C1"
    page = await desk.get("/area/C1")
    assert "Log out" in await page.text()
