"""A scratch PostgreSQL database for one benchmark run, created and dropped on the given server."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.session import make_engine


@asynccontextmanager
async def scratch_postgres(server_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new empty database `<prefix>_<time>` on `server_url`'s server; dropped after."""
    name = f"{prefix}_{int(time.time())}"
    admin = make_engine(server_url, command_timeout=None, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(False)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
