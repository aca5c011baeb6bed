"""Engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

import asyncio
import contextlib
import logging
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

POOL_SIZE = 20
# PostgreSQL that stops answering (packets dropped, nothing refused) must fail an update within
# seconds, not hold it and /healthz for asyncpg's default minute to connect, or forever for a
# statement. The command timeout also ends a statement stuck waiting on a lock: that update
# fails with the apology and is tried again.
CONNECT_SECONDS = 5
COMMAND_SECONDS = 20
# How long a SQLite statement waits for another connection's lock before it fails.
SQLITE_BUSY_MS = 30_000


def is_sqlite(url: str) -> bool:
    """True for the embedded SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


# aiosqlite's debug lines repeat every statement's parameters (ids, what users typed).
logging.getLogger("aiosqlite").setLevel(logging.INFO)


def make_engine(url: str, command_timeout: float | None = COMMAND_SECONDS, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; on SQLite every transaction takes the write lock up front. On
    PostgreSQL a statement fails after `command_timeout` seconds (None: never)."""
    # Statement parameters can hold what users typed; errors and logs must not repeat them.
    kwargs.setdefault("hide_parameters", True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        # Enough connections for the updates handled at once: connections beyond the pool are
        # closed when returned, and opening one per update costs more than the update itself.
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_SIZE // 2)
        connect_args.setdefault("timeout", CONNECT_SECONDS)
        connect_args.setdefault("command_timeout", command_timeout)
        return create_async_engine(url, connect_args=connect_args, **kwargs)
    connect_args.setdefault("timeout", 30)
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    _configure_sqlite(engine.sync_engine)
    return engine


class DatabaseUnreachable(Exception):
    """The database cannot be connected to or opened; the message is the driver's reason."""


async def check_reachable(engine: AsyncEngine) -> None:
    """Raise DatabaseUnreachable unless a connection opens and answers a query."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        # SQLite creates the file but not its folder; asking first also spares a failed
        # aiosqlite connection, whose thread outlives the event loop.
        folder = Path(url.database).parent
        if not folder.is_dir():
            raise DatabaseUnreachable(f"no folder {folder} for the SQLite file")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, TimeoutError, DBAPIError) as error:
        # The driver's own text (refused, no such database, wrong password) says what to fix.
        reason = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
        raise DatabaseUnreachable(str(reason).strip() or type(reason).__name__) from error


def sync_url(url: str) -> str:
    """The synchronous twin of an async database URL (for APScheduler's job store)."""
    parsed = make_url(url)
    driver = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def make_sync_engine(url: str) -> Engine:
    """A synchronous engine on the same database as `url`, set up like the async one."""
    if not is_sqlite(url):
        return create_engine(sync_url(url), hide_parameters=True, pool_pre_ping=True,
                             connect_args={"connect_timeout": CONNECT_SECONDS})
    engine = create_engine(sync_url(url), hide_parameters=True, connect_args={"timeout": 30})
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below); the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted content is overwritten with zeros, not left in free space: an erased kept
        # receipt must not stay readable in the file (db/services/updates.py).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # BEGIN IMMEDIATE: two updates writing at once wait for each other instead of
        # failing with "database is locked" when a read transaction tries to upgrade.
        # Work that only reads may ask for a deferred BEGIN (see READ_ONLY) and then
        # never holds up the writers.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


_write_locks: "weakref.WeakKeyDictionary[Engine, asyncio.Lock]" = weakref.WeakKeyDictionary()


def write_lock(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager:
    """Taken around a writing transaction: on SQLite, one at a time in this process.

    SQLite has one writer; without this, many updates at once all wait inside SQLite's busy
    handler, whose growing sleeps starve the oldest waiters until they fail with "database is
    locked". An asyncio lock queues them fairly instead. PostgreSQL needs no such thing."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    lock = _write_locks.get(engine.sync_engine)
    if lock is None:
        lock = _write_locks[engine.sync_engine] = asyncio.Lock()
    return lock


# Execution options for work that only reads (reports, checks): on SQLite it then takes no
# write lock, and in WAL mode readers never block the bot's writes.
READ_ONLY = {"sqlite_begin": "DEFERRED"}


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (handlers render after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that only reads (READ_ONLY): progress, checks, a worker's lookups."""
    return make_sessionmaker(engine.execution_options(**READ_ONLY))
