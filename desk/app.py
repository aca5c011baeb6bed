"""The desk's aiohttp application: templates, middlewares (headers, session, CSRF, language,
transaction) and every route."""

import logging
from datetime import datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiogram.utils.i18n import gettext, ngettext
from aiohttp import web

from base.labels import render_problem
from base.settings import LOCALES
from db.models import Member
from db.services.members import STAFF_ROLES
from db.session import write_lock
from db.text import Problem
from desk import security
from desk.access import NotAllowed, NotSignedIn, OutOfScope
from desk.context import DeskContext
from desk.keys import DB, LOCALE, MEMBER, SESSION, TOKEN

log = logging.getLogger(__name__)

CONTEXT = web.AppKey("desk_context", DeskContext)
COOKIE = "binhyen_desk"
STATIC = Path(__file__).parent / "static"


def context_of(request: web.Request) -> DeskContext:
    """The desk's context, from any of its requests."""
    return request.config_dict[CONTEXT]


def url(request: web.Request, path: str) -> str:
    """A path of the desk as the browser must ask for it (below BINHYEN_WEB_URL's path)."""
    return context_of(request).settings.web_path + path


def _translate(message: str, **params: object) -> str:
    text = gettext(message)
    return text.format(**params) if params else text


def _ntranslate(singular: str, plural: str, n: int, **params: object) -> str:
    return ngettext(singular, plural, n).format(n=n, **params)


@jinja2.pass_context
def _url(ctx, path: str) -> str:
    return url(ctx["request"], path)


def render(request: web.Request, template: str, values: dict, status: int = 200) -> web.Response:
    """A page (or, for htmx, a fragment) rendered in the request's language."""
    return aiohttp_jinja2.render_template(template, request, values, status=status)


async def _page_context(request: web.Request) -> dict:
    member = request.get(MEMBER)
    data = request.get(SESSION)
    return {"member": member, "csrf": data.csrf if data else "", "locale": request.get(LOCALE),
            "settings": context_of(request).settings, "htmx": request.headers.get("HX-Request") == "true"}


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str,
               max_age: int | None = None) -> None:
    """A cookie only this desk's pages see: HttpOnly, SameSite=Strict, Secure behind https."""
    settings = context_of(request).settings
    response.set_cookie(name, value, httponly=True, samesite="Strict", max_age=max_age,
                        path=settings.web_path + "/", secure=settings.web_base_url.startswith("https://"))


def clear_cookie(response: web.StreamResponse, request: web.Request, name: str = COOKIE) -> None:
    """Forget a cookie in the browser."""
    response.del_cookie(name, path=context_of(request).settings.web_path + "/")


@web.middleware
async def headers_middleware(request: web.Request, handler) -> web.StreamResponse:
    """The security headers on every answer, errors and static files included."""
    static = request.path.startswith(url(request, "/static/"))
    try:
        response = await handler(request)
    except web.HTTPException as error:
        security.add_headers(error.headers)
        raise
    security.add_headers(response.headers, static=static and response.status == 200)
    return response


def _locale(request: web.Request, member: Member | None) -> str:
    data = request.get(SESSION)
    settings = context_of(request).settings
    for choice in (data.locale if data else None, member.locale if member else None, settings.default_locale):
        if choice in LOCALES:
            return choice
    return settings.default_locale


@web.middleware
async def session_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Reads the session, checks POSTs (Origin, CSRF), opens the request's transaction, loads
    the member (a member no longer staff is logged out), and renders what goes wrong."""
    context = context_of(request)
    if request.path.startswith(url(request, "/static/")):
        return await handler(request)
    now: datetime = context.clock.now()
    token = request.cookies.get(COOKIE)
    data = await context.sessions.get(token, now) if token else None
    request[SESSION], request[TOKEN] = data, token if data else None
    if request.method == "POST":
        login = request.match_info.route.name == "login-post"
        if not security.same_origin(request, context.settings.web_url):
            return _refused(request, 403)
        if not login and (data is None or not security.same_token(await security.csrf_given(request), data.csrf)):
            return _refused(request, 403)
    writing = request.method == "POST"
    maker = context.sessionmaker if writing else context.read_sessionmaker
    lock = write_lock(context.engine) if writing else _NoLock()
    async with lock, maker() as session:
        request[DB] = session
        member = await session.get(Member, data.member_id) if data else None
        ended = data is not None and (member is None or member.role not in STAFF_ROLES)
        if ended:
            # The role was taken away: this request and the session end here.
            await context.sessions.delete(session, token)
            await session.commit()
            member, request[SESSION], request[TOKEN] = None, None, None
        request[MEMBER] = member
        locale = request[LOCALE] = _locale(request, member)
        with context.i18n.context(), context.i18n.use_locale(locale):
            try:
                response = await handler(request)
                if writing:
                    await session.commit()
            except Problem as problem:
                # Rendered before the rollback, which would expire the member the page shows.
                response = render(request, "problem.html", {"message": render_problem(problem, markup=False)},
                                  status=400)
                await session.rollback()
            except NotSignedIn:
                await session.rollback()
                response = web.HTTPSeeOther(url(request, "/"))
                if ended:
                    clear_cookie(response, request)
                raise response from None
            except NotAllowed:
                response = render(request, "problem.html", {"message": gettext(
                    "Trang này dành cho vai trò khác. Tài khoản của bạn chưa có quyền này.")}, status=403)
                await session.rollback()
            except OutOfScope:
                response = render(request, "problem.html", {"message": gettext(
                    "Không có mục này trong phạm vi bạn phụ trách.")}, status=404)
                await session.rollback()
            except web.HTTPException as answer:
                # A redirect after a POST is its success: what it did is kept.
                if writing and answer.status < 400:
                    await session.commit()
                else:
                    await session.rollback()
                if ended:
                    clear_cookie(answer, request)
                raise
            except BaseException:
                await session.rollback()
                raise
    if ended:
        clear_cookie(response, request)
    return response


class _NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc) -> None:
        return None


def _refused(request: web.Request, status: int) -> web.Response:
    """A POST from another site, or without the session's token: nothing is done."""
    return web.Response(status=status, text="Yêu cầu bị từ chối / request refused (origin or CSRF token)",
                        content_type="text/plain")


def desk_application(context: DeskContext) -> web.Application:
    """The desk, to be mounted by the bot at BINHYEN_WEB_URL's path."""
    from desk.pages import register

    app = web.Application(middlewares=[headers_middleware, session_middleware])
    app[CONTEXT] = context
    env = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(default=True), context_processors=[_page_context, aiohttp_jinja2.request_processor])
    env.globals.update(_=_translate, ngettext=_ntranslate, url=_url)
    app.router.add_static("/static", STATIC, name="static")
    register(app)
    return app
