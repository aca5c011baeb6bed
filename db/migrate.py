"""Alembic migrations run from code: `binhyen db upgrade`, and the start-up check.

The start-up check does not import Alembic (12 MB with Mako, held for the life of a bot
process that never migrates): it reads the `alembic_version` table itself and compares it
with HEAD_REVISION.
"""

from importlib.resources import files
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import check_reachable

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration in db/migrations/versions. A new migration changes it too:
# tests/platform/test_migrations.py fails until it is Alembic's head.
HEAD_REVISION = "0012"


class NotMigrated(Exception):
    """The database schema is not at the code's revision."""

    def __init__(self, current: str | None, head: str) -> None:
        state = "has no tables yet" if current is None else f"is at revision {current}"
        super().__init__(
            f"The database {state}; this version needs revision {head}. Run `binhyen db upgrade`."
        )
        self.current = current
        self.head = head


def alembic_config() -> "Config":
    """An Alembic config pointing at the migrations shipped inside the `db` package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("db") / "migrations"))
    return config


def head_revision() -> str:
    """The newest migration the code knows, as Alembic reads it from the migration files."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine` up to `revision`."""
    from alembic import command

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""

    def _current(connection: Connection) -> str | None:
        # What Alembic's MigrationContext.get_current_revision() reads, without Alembic.
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def check_migrated(engine: AsyncEngine) -> None:
    """Raise DatabaseUnreachable when the database does not answer, NotMigrated with a clear
    message unless it is at the head revision."""
    await check_reachable(engine)
    current = await current_revision(engine)
    if current != HEAD_REVISION:
        raise NotMigrated(current, HEAD_REVISION)
