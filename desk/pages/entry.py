"""Getting in and out: the page for visitors, one-time login links, logout, the language."""

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from base.settings import LOCALES
from db.services.audit import record
from db.services.desk_access import IDLE_HOURS, link_usable, new_token, redeem_link
from desk import security
from desk.access import db, home_area, staff
from desk.app import COOKIE, clear_cookie, context_of, render, set_cookie, url
from desk.security import same_token
from desk.keys import LOCALE, MEMBER, TOKEN

# The login page's own token (double-submit cookie): the button posts it back.
PRE_COOKIE = "binhyen_login"
MAX_TOKEN = 64


async def home(request: web.Request) -> web.StreamResponse:
    """The member's overview; without a session, how to get a link (and no data)."""
    member = request.get(MEMBER)
    if member is None:
        return render(request, "welcome.html", {})
    area = await home_area(db(request), member)
    if area is None:
        return render(request, "problem.html", {"message": _("Chưa có địa bàn nào.")})
    raise web.HTTPSeeOther(url(request, f"/area/{area.code}"))


def _token(request: web.Request) -> str:
    token = request.match_info["token"]
    return token if len(token) <= MAX_TOKEN else ""


async def login_page(request: web.Request) -> web.StreamResponse:
    """The link's page: a "Đăng nhập" button (a crawler that fetches the link uses nothing up)."""
    context = context_of(request)
    if not await link_usable(db(request), _token(request), context.clock.now()):
        return render(request, "link_used.html", {}, status=410)
    pre = new_token()
    response = render(request, "login.html", {"token": _token(request), "pre": pre})
    set_cookie(response, request, PRE_COOKIE, pre, max_age=15 * 60)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """The button: the link is used up and a session begins."""
    context = context_of(request)
    form = await request.post()
    pre = request.cookies.get(PRE_COOKIE, "")
    if not same_token(str(form.get("pre", "")), pre):
        return web.Response(status=403, text="request refused", content_type="text/plain")
    now = context.clock.now()
    member = await redeem_link(db(request), _token(request), now)
    if member is None:
        return render(request, "link_used.html", {}, status=410)
    if request.get(TOKEN):
        await context.sessions.delete(db(request), request[TOKEN])
    token, _data = await context.sessions.create(db(request), member.id, request.get(LOCALE), now)
    await record(db(request), member, "login", member.area, at=now)
    response = web.HTTPSeeOther(url(request, "/"))
    set_cookie(response, request, COOKIE, token, max_age=IDLE_HOURS * 3600)
    clear_cookie(response, request, PRE_COOKIE)
    raise response


@staff
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session."""
    context = context_of(request)
    await context.sessions.delete(db(request), request[TOKEN])
    await record(db(request), request[MEMBER], "logout", request[MEMBER].area, at=context.clock.now())
    response = web.HTTPSeeOther(url(request, "/"))
    clear_cookie(response, request)
    raise response


@staff
async def language(request: web.Request) -> web.StreamResponse:
    """Switch the desk between Vietnamese and English."""
    form = await request.post()
    locale = str(form.get("lang", ""))
    if locale in LOCALES:
        await context_of(request).sessions.set_locale(db(request), request[TOKEN], locale)
    back = str(form.get("back", ""))
    prefix = context_of(request).settings.web_path + "/"
    raise web.HTTPSeeOther(back if back.startswith(prefix) and "//" not in back else url(request, "/"))


def routes(router: web.UrlDispatcher) -> None:
    """The entry routes."""
    router.add_get("/", home, name="home")
    router.add_get("/login/{token}", login_page, name="login-page")
    router.add_post("/login/{token}", login, name="login-post")
    router.add_post("/logout", logout, name="logout")
    router.add_post("/language", language, name="language")


__all__ = ["routes", "security"]
