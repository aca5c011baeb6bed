"""Fixtures: a migrated database on SQLite and PostgreSQL, the assembled app, a chat driver.

Each test gets its own database: SQLite copies a migrated template file, PostgreSQL
creates a database from a migrated template database. Both templates are built once
per run with the real Alembic migrations.
"""

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from base.i18n import compile_catalogs
from base.settings import Settings, load_settings
from bot.app import App, build_app
from db.migrate import upgrade
from db.session import make_engine, make_read_sessionmaker
from testkit.fake_zalo import FakeZalo
from testkit.fakes import ChatDriver
from testkit.services import flushed_redis, postgres_url, unavailable

# The suite never reads the demo's tip keys that `make run` leaves in .demo-keys/: tests switch
# tips on themselves, and `make test` after `make run` must see what a fresh clone sees.
Settings.model_config["env_file"] = None

BACKENDS = ["sqlite", "postgres"]


def pytest_sessionstart(session: pytest.Session) -> None:
    compile_catalogs()


ADMIN_SECONDS = 300


async def _admin(url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/DROP DATABASE need that). Copying the
    template can take longer than the bot's 20 s statement limit when other work loads the
    machine's disk and cores: these get a bound of their own, well under pytest-timeout's."""
    engine = make_engine(url, command_timeout=ADMIN_SECONDS, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class Databases:
    """Creates per-test databases, empty or migrated, on either backend."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.folder = tmp_path_factory.mktemp("databases")
        self.templates: dict[str, str] = {}
        self.created: list[str] = []

    def _pg_template(self, server: str) -> str:
        if "postgres" not in self.templates:
            name = f"binhyen_template_{uuid.uuid4().hex[:8]}"
            try:
                asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
            except OSError as error:
                unavailable(f"PostgreSQL at BINHYEN_TEST_POSTGRES_URL is unreachable: {error}")
            asyncio.run(_migrate(make_url(server).set(database=name).render_as_string(False)))
            self.templates["postgres"] = name
        return self.templates["postgres"]

    def _sqlite_template(self) -> str:
        if "sqlite" not in self.templates:
            path = self.folder / "template.db"
            asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
            self.templates["sqlite"] = str(path)
        return self.templates["sqlite"]

    def new(self, backend: str, migrated: bool = True) -> str:
        """The URL of a new database of `backend`."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            path = self.folder / f"{name}.db"
            if migrated:
                shutil.copyfile(self._sqlite_template(), path)
            return f"sqlite+aiosqlite:///{path}"
        server = postgres_url()
        template = f'TEMPLATE "{self._pg_template(server)}"' if migrated else "TEMPLATE template0"
        try:
            asyncio.run(_admin(server, f'CREATE DATABASE "{name}" {template}'))
        except OSError as error:
            unavailable(f"PostgreSQL at BINHYEN_TEST_POSTGRES_URL is unreachable: {error}")
        self.created.append(name)
        return make_url(server).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created and "postgres" not in self.templates:
            return
        server = postgres_url()
        names = self.created + [self.templates["postgres"]] if "postgres" in self.templates else self.created
        asyncio.run(_admin(server, *[f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names]))


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[Databases]:
    factory = Databases(tmp_path_factory)
    yield factory
    factory.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Every test that touches the database runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def database_url(databases: Databases, backend: str) -> str:
    """A freshly migrated database for this test."""
    return databases.new(backend)


@pytest.fixture
def cli(database_url: str, monkeypatch) -> str:
    """`binhyen …` (bot.cli.main.main) run by the test works on this test's database."""
    monkeypatch.setenv("BINHYEN_DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def empty_database_url(databases: Databases, backend: str) -> str:
    """A database with no tables at all."""
    return databases.new(backend, migrated=False)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for arranging data and checking results; commit what the bot must see.

    It begins its transactions deferred, so checking a result between two messages never
    holds SQLite's write lock while the bot works (tests run one step at a time)."""
    async with make_read_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for the tests: the test database, no token, Vietnamese by default."""
    return load_settings(
        database_url=database_url, telegram_token=None, webhook_url=None, redis_url=None,
        default_locale="vi", timezone="Asia/Ho_Chi_Minh",
    )


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[App]:
    """The assembled bot on the test database."""
    app = await build_app(settings, engine)
    yield app
    await app.dispatcher.storage.close()


@pytest.fixture
def chat(app: App) -> ChatDriver:
    """A Telegram chat with the full bot through the real dispatcher."""
    return ChatDriver(app)


@pytest.fixture
async def zalo_api() -> AsyncIterator[FakeZalo]:
    """A fake Zalo Bot API on 127.0.0.1 (testkit/fake_zalo.py)."""
    server = await FakeZalo().start()
    yield server
    await server.stop()


@pytest.fixture
async def redis():
    """The test Redis, emptied before and after (BINHYEN_TEST_REDIS_URL; skipped without it)."""
    client = await flushed_redis()
    yield client
    await client.flushdb()
    await client.aclose()
