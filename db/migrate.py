"""Alembic migrations run from code: `binhyen db upgrade`, and the start-up check."""

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import check_reachable


class NotMigrated(Exception):
    """The database schema is not at the code's revision."""

    def __init__(self, current: str | None, head: str) -> None:
        state = "has no tables yet" if current is None else f"is at revision {current}"
        super().__init__(
            f"The database {state}; this version needs revision {head}. Run `binhyen db upgrade`."
        )
        self.current = current
        self.head = head


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside the `db` package."""
    config = Config()
    config.set_main_option("script_location", str(files("db") / "migrations"))
    return config


def head_revision() -> str:
    """The newest migration the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine` up to `revision`."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def check_migrated(engine: AsyncEngine) -> None:
    """Raise DatabaseUnreachable when the database does not answer, NotMigrated with a clear
    message unless it is at the head revision."""
    await check_reachable(engine)
    current, head = await current_revision(engine), head_revision()
    if current != head:
        raise NotMigrated(current, head)
