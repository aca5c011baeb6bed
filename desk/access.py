"""Who may open a page: the roles of each route, and the area checks, with the chat's rules."""

from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Member
from db.services.areas import children, get_area
from db.services.members import OFFICER_ROLES, STAFF_ROLES, scope_covers
from desk.keys import DB, MEMBER

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROLES_KEY = "desk_roles"
ADMINS = frozenset({"admin"})


class OutOfScope(Exception):
    """The area or object asked for lies outside the member's scope (or does not exist)."""


class NotAllowed(Exception):
    """The member's role may not use this page."""


def allowed(roles: frozenset[str]) -> Callable[[Handler], Handler]:
    """Mark a handler as open to these roles; the middleware enforces it (anonymous: to /)."""
    def mark(handler: Handler) -> Handler:
        @wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            member: Member | None = request.get(MEMBER)
            if member is None:
                raise NotSignedIn()
            if member.role not in roles:
                raise NotAllowed()
            return await handler(request)
        setattr(checked, ROLES_KEY, roles)
        return checked
    return mark


class NotSignedIn(Exception):
    """No session: the visitor is sent to the page that explains how to get a link."""


staff = allowed(STAFF_ROLES)
officers = allowed(OFFICER_ROLES)
admins = allowed(ADMINS)


def db(request: web.Request) -> AsyncSession:
    """The request's database session (one transaction, committed after a POST succeeds)."""
    return request[DB]


async def home_area(session: AsyncSession, member: Member) -> Area | None:
    """The area a member's pages start from: their own, or the first province for a
    deployment-wide admin."""
    if member.area is not None:
        return member.area
    provinces = await children(session, None)
    return provinces[0] if provinces else None


async def area_in_scope(request: web.Request, code: str) -> Area:
    """The area with this code if the member's scope covers it; OutOfScope otherwise."""
    area = await get_area(db(request), code) if len(code) <= 32 else None
    if area is None or not scope_covers(request[MEMBER], area):
        raise OutOfScope()
    return area


def within(member: Member, area: Area) -> bool:
    """Whether the member's scope covers the area (the breadcrumb stops at the scope)."""
    return scope_covers(member, area)
