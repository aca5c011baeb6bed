"""Migrations: they build the schema the models describe, and the app refuses an old database."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from base.settings import load_settings
from bot.app import build_app
from bot.cli.main import main
from db.migrate import (
    HEAD_REVISION,
    NotMigrated,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from db.models import Base
from db.session import make_engine


def _downgrade_to_base(connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


def test_the_start_up_check_knows_alembics_head():
    # A new migration must move HEAD_REVISION (db/migrate.py) too, or every bot refuses to start.
    assert HEAD_REVISION == head_revision()


TABLES = {"areas", "households", "members", "campaigns", "processed_updates", "alembic_version",
          "readings", "quiz_attempts", "pledges", "tallies",
          "tips", "tip_photos", "tip_entries", "tip_routes",
          "milestones", "reminders", "broadcasts", "deliveries", "apscheduler_jobs",
          "desk_links", "desk_sessions", "audit_log",
          "organizations", "organization_registrations", "model_types", "movement_models",
          "recognition_criteria", "recognitions", "criterion_checks"}


async def test_upgrade_creates_the_tables_and_matches_the_models(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as connection:
            tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert TABLES <= tables
        assert diff == [], f"models and migrations disagree: {diff}"
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
        assert await current_revision(engine) is None
    finally:
        await engine.dispose()


async def test_the_app_refuses_an_unmigrated_database(empty_database_url):
    settings = load_settings(database_url=empty_database_url)
    with pytest.raises(NotMigrated) as error:
        await build_app(settings)
    assert "binhyen db upgrade" in str(error.value)


def test_the_command_line_says_how_to_migrate_then_migrates(empty_database_url, monkeypatch, capsys):
    monkeypatch.setenv("BINHYEN_DATABASE_URL", empty_database_url)
    monkeypatch.delenv("BINHYEN_TELEGRAM_TOKEN", raising=False)
    assert main(["run"]) == 1
    assert "binhyen db upgrade" in capsys.readouterr().err
    assert main(["db", "upgrade"]) == 0
    assert head_revision() in capsys.readouterr().out
    assert main(["db", "current"]) == 0
