"""Getting into the desk: one-time login links and server-side sessions (database or Redis).

Tokens are 32 random bytes; only their SHA-256 is stored, so a copy of the database lets
nobody in. A link works once, for LINK_MINUTES; a session ends after IDLE_HOURS without a
request, at logout, or when its member is no longer staff.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DeskLink, DeskSession, Member
from db.services.members import STAFF_ROLES
from db.text import N_, Problem

LINK_MINUTES = 10
IDLE_HOURS = 12
# A session's last-seen time is written at most this often (a page view is then a pure read).
TOUCH_SECONDS = 60
TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """The SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """A new random token (URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


async def issue_link(session: AsyncSession, member: Member, now: datetime) -> str:
    """A one-time login link's token for a staff member, valid LINK_MINUTES."""
    if member.role not in STAFF_ROLES:
        raise Problem(N_("Chức năng này dành cho cán bộ được giao nhiệm vụ. Tài khoản của bạn chưa có quyền này."))
    token = new_token()
    session.add(DeskLink(token_hash=token_hash(token), member_id=member.id, created_at=now,
                         expires_at=now + timedelta(minutes=LINK_MINUTES)))
    # Links used or expired long ago are of no use to anyone.
    await session.execute(delete(DeskLink).where(DeskLink.expires_at < now - timedelta(days=1)))
    await session.flush()
    return token


async def link_usable(session: AsyncSession, token: str, now: datetime) -> bool:
    """Whether the link is unused and not expired (the page with the button; nothing changes)."""
    link = await session.scalar(select(DeskLink).where(DeskLink.token_hash == token_hash(token)))
    return link is not None and link.used_at is None and link.expires_at > now


async def redeem_link(session: AsyncSession, token: str, now: datetime) -> Member | None:
    """The staff member the link logs in, marking it used; None when it is unknown, used,
    expired, or its member is no longer staff."""
    claimed = await session.execute(
        update(DeskLink).where(DeskLink.token_hash == token_hash(token), DeskLink.used_at.is_(None),
                               DeskLink.expires_at > now)
        .values(used_at=now).returning(DeskLink.member_id))
    member_id = claimed.scalar()
    if member_id is None:
        return None
    member = await session.get(Member, member_id)
    return member if member is not None and member.role in STAFF_ROLES else None


@dataclass
class SessionData:
    """What a session holds: its member, its CSRF token, its language and when it was last used."""

    member_id: int
    csrf: str
    locale: str | None
    last_seen: datetime


class SessionStore(Protocol):
    """Where sessions live: the database, or Redis."""

    async def create(self, db: AsyncSession, member_id: int, locale: str | None,
                     now: datetime) -> tuple[str, SessionData]:
        """A new session, in the request's transaction `db`; returns the cookie's token and the session."""

    async def get(self, token: str, now: datetime) -> SessionData | None:
        """The session, touched (in a short transaction of its own, before the request's);
        None when unknown or idle too long (then it is deleted)."""

    async def set_locale(self, db: AsyncSession, token: str, locale: str) -> None:
        """Remember the session's language."""

    async def delete(self, db: AsyncSession | None, token: str) -> None:
        """End the session (in `db`'s transaction, or a short one of its own)."""


def _expired(last_seen: datetime, now: datetime) -> bool:
    return last_seen <= now - timedelta(hours=IDLE_HOURS)


class DatabaseSessions:
    """Sessions in the desk_sessions table; each call runs in its own short transaction."""

    def __init__(self, sessionmaker, read_sessionmaker, lock) -> None:
        # `lock(engine)`-like: taken around a writing transaction (SQLite's one writer).
        self.sessionmaker, self.read_sessionmaker, self.lock = sessionmaker, read_sessionmaker, lock

    async def create(self, db: AsyncSession, member_id: int, locale: str | None,
                     now: datetime) -> tuple[str, SessionData]:
        token, csrf = new_token(), new_token()
        db.add(DeskSession(token_hash=token_hash(token), member_id=member_id, csrf=csrf,
                           locale=locale, created_at=now, last_seen_at=now))
        await db.execute(delete(DeskSession).where(
            DeskSession.last_seen_at <= now - timedelta(hours=IDLE_HOURS)))
        await db.flush()
        return token, SessionData(member_id, csrf, locale, now)

    async def get(self, token: str, now: datetime) -> SessionData | None:
        key = token_hash(token)
        async with self.read_sessionmaker() as session:
            row = (await session.execute(select(
                DeskSession.member_id, DeskSession.csrf, DeskSession.locale, DeskSession.last_seen_at,
            ).where(DeskSession.token_hash == key))).first()
            await session.rollback()
        if row is None:
            return None
        if _expired(row.last_seen_at, now):
            await self.delete(None, token)
            return None
        if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
            async with self.lock, self.sessionmaker() as session, session.begin():
                await session.execute(update(DeskSession).where(DeskSession.token_hash == key)
                                      .values(last_seen_at=now))
        return SessionData(row.member_id, row.csrf, row.locale, now)

    async def set_locale(self, db: AsyncSession, token: str, locale: str) -> None:
        await db.execute(update(DeskSession).where(DeskSession.token_hash == token_hash(token))
                         .values(locale=locale))

    async def delete(self, db: AsyncSession | None, token: str) -> None:
        statement = delete(DeskSession).where(DeskSession.token_hash == token_hash(token))
        if db is not None:
            await db.execute(statement)
            return
        async with self.lock, self.sessionmaker() as session, session.begin():
            await session.execute(statement)


class RedisSessions:
    """Sessions in Redis under binhyen:desk:<hash>, expiring by themselves after IDLE_HOURS."""

    PREFIX = "binhyen:desk:"

    def __init__(self, redis) -> None:
        self.redis = redis

    def _key(self, token: str) -> str:
        return self.PREFIX + token_hash(token)

    async def create(self, db: AsyncSession, member_id: int, locale: str | None,
                     now: datetime) -> tuple[str, SessionData]:
        token, csrf = new_token(), new_token()
        data = SessionData(member_id, csrf, locale, now)
        await self.redis.set(self._key(token), self._dump(data), ex=IDLE_HOURS * 3600)
        return token, data

    @staticmethod
    def _dump(data: SessionData) -> str:
        return json.dumps({"member_id": data.member_id, "csrf": data.csrf, "locale": data.locale,
                           "last_seen": data.last_seen.isoformat()})

    async def get(self, token: str, now: datetime) -> SessionData | None:
        raw = await self.redis.get(self._key(token))
        if raw is None:
            return None
        stored = json.loads(raw)
        data = SessionData(stored["member_id"], stored["csrf"], stored["locale"],
                           datetime.fromisoformat(stored["last_seen"]))
        if _expired(data.last_seen, now):
            await self.delete(None, token)
            return None
        if (now - data.last_seen).total_seconds() >= TOUCH_SECONDS:
            data.last_seen = now
            await self.redis.set(self._key(token), self._dump(data), ex=IDLE_HOURS * 3600)
        return data

    async def set_locale(self, db: AsyncSession, token: str, locale: str) -> None:
        raw = await self.redis.get(self._key(token))
        if raw is not None:
            stored = json.loads(raw)
            stored["locale"] = locale
            await self.redis.set(self._key(token), json.dumps(stored), keepttl=True)

    async def delete(self, db: AsyncSession | None, token: str) -> None:
        await self.redis.delete(self._key(token))
