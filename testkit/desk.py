"""Driving the desk in tests: a real aiohttp server with the desk mounted as `binhyen run`
mounts it, a client with its cookie jar, and logging in through a one-time link."""

import re
from dataclasses import dataclass

from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestServer

from bot.app import App
from bot.web_desk import login_link, mount_desk
from bot.webhook import web_application
from db.models import Member
from db.services.members import get_member

PRE = re.compile(r'name="pre" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Desk:
    """A browser of the desk served on 127.0.0.1: its own cookie jar."""

    server: TestServer
    app: App
    http: ClientSession

    @property
    def origin(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def path(self, path: str) -> str:
        return self.app.settings.web_path + path

    def browser(self) -> "Desk":
        """Another browser of the same desk (no cookies)."""
        return Desk(self.server, self.app, ClientSession(cookie_jar=CookieJar(unsafe=True)))

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kwargs) -> web.Response:
        return await self.http.get(self.origin + self.path(path),
                                   allow_redirects=kwargs.pop("allow_redirects", False), **kwargs)

    async def post(self, path: str, data: dict | None = None, origin: str | None = "same",
                   csrf: str | None = "page", **kwargs):
        """A POST with our Origin and the session's CSRF token (from a page), unless told otherwise."""
        headers = dict(kwargs.pop("headers", {}))
        if origin is not None:
            headers["Origin"] = self.origin if origin == "same" else origin
        data = dict(data or {})
        if csrf == "page":
            csrf = await self.csrf()
        if csrf is not None:
            data.setdefault("csrf", csrf)
        return await self.http.post(self.origin + self.path(path), data=data, headers=headers,
                                    allow_redirects=False, **kwargs)

    async def csrf(self) -> str | None:
        """The session's CSRF token, as the pages carry it."""
        answer = await self.get("/broadcasts")
        found = CSRF.search(await answer.text())
        return found.group(1) if found else None

    async def link_for(self, channel: str, user_id: str) -> str:
        """A login link for the member, as /dashboard would send it (its path under the desk)."""
        async with self.app.sessionmaker() as session, session.begin():
            member = await get_member(session, channel, user_id)
            link = await login_link(session, member, "", self.app.dispatcher["clock"].now())
        return link

    async def open_link(self, link: str) -> web.Response:
        """Open the link's page and press "Đăng nhập"."""
        page = await self.get(link)
        found = PRE.search(await page.text())
        if found is None:
            return page
        return await self.post(link, {"pre": found.group(1)}, csrf=None)

    async def login(self, channel: str, user_id: str) -> None:
        """Log in as this member; fails the test if it does not work."""
        answer = await self.open_link(await self.link_for(channel, user_id))
        assert answer.status == 303, await answer.text()


async def start_desk(app: App) -> Desk:
    """The desk mounted on the bot's web application, served on a free port."""
    server = web_application(app)
    mount_desk(server, app)
    test_server = TestServer(server, host="127.0.0.1")
    await test_server.start_server()
    return Desk(test_server, app, ClientSession(cookie_jar=CookieJar(unsafe=True)))


async def member(app: App, channel: str, user_id: str) -> Member:
    async with app.sessionmaker() as session:
        return await get_member(session, channel, user_id)
