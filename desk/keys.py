"""What the desk's middleware keeps on each request."""

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Member
from db.services.desk_access import SessionData

MEMBER = web.RequestKey("desk_member", Member)
DB = web.RequestKey("desk_db", AsyncSession)
TOKEN = web.RequestKey("desk_token", str)
SESSION = web.RequestKey("desk_session", SessionData)
LOCALE = web.RequestKey("desk_locale", str)
