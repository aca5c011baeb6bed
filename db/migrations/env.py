"""Alembic environment: runs on a connection we hand it, or on BINHYEN_DATABASE_URL."""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from db.models import Base
from db.session import is_sqlite, make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point Alembic calls: prefer the caller's connection (the CLI and tests pass one)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "BINHYEN_DATABASE_URL", "sqlite+aiosqlite:///./binhyen.db"
    )
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=is_sqlite(url))
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_with_own_engine(url))


main()
