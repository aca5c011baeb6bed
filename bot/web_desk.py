"""Mounting the desk (the web dashboard) on the bot's aiohttp server, and its login links."""

from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from db.models import Member
from db.services.desk_access import DatabaseSessions, RedisSessions, issue_link
from db.session import make_read_sessionmaker, write_lock
from desk.app import desk_application
from desk.context import DeskContext

DESK_ROLES = ("all", "web")


def runs_desk(role: str) -> bool:
    """Does this role serve the desk?"""
    return role in DESK_ROLES


def desk_context(app: App) -> DeskContext:
    """What the desk needs from the running bot; sessions in Redis when it is configured."""
    sessions = RedisSessions(app.redis) if app.redis is not None else DatabaseSessions(
        app.sessionmaker, make_read_sessionmaker(app.engine), write_lock(app.engine))
    dispatcher = app.dispatcher
    return DeskContext(app.settings, app.engine, app.sessionmaker, make_read_sessionmaker(app.engine),
                       app.i18n, dispatcher["catalog"], dispatcher["translator"], dispatcher["tip_keys"],
                       sessions, dispatcher["clock"])


def mount_desk(web_app: web.Application, app: App) -> None:
    """Add the desk below BINHYEN_WEB_URL's path (e.g. /desk) of this server."""
    web_app.add_subapp(app.settings.web_path, desk_application(desk_context(app)))


async def login_link(session: AsyncSession, member: Member, base_url: str, now: datetime) -> str:
    """A new one-time login link for a staff member."""
    return f"{base_url}/login/{await issue_link(session, member, now)}"
