"""`binhyen run --role …`: only the scheduler and all roles run scheduled jobs (bot/background.py)."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.background import start_background
from db.models import SCHEDULER_JOBS_TABLE
from db.session import sync_url
from delivery.sender import Channel
from scheduler.planner import job_store_url
from testkit.delivery_fakes import FakeClock, FakeSender, local


def stored_jobs(database_url: str) -> list[str]:
    """The ids in the scheduler's job store ([] when it was never created)."""
    url = job_store_url(database_url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database).exists():
        return []
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(SCHEDULER_JOBS_TABLE):
                return []
            return sorted(connection.scalars(text(f"SELECT id FROM {SCHEDULER_JOBS_TABLE}")))
    finally:
        engine.dispose()


@pytest.mark.parametrize("role", ["bot", "worker"])
async def test_the_bot_and_worker_roles_run_no_scheduler_jobs(app, database_url, role):
    channels = [Channel("telegram", FakeSender(FakeClock(local(2026, 8, 10, 9, 0))), 25.0)]
    background = await start_background(app, role, channels)
    try:
        assert background.planner is None
        assert stored_jobs(database_url) == []
        # A worker delivers; the bot role leaves delivery to the other processes.
        assert (background.worker is not None) == (role == "worker")
    finally:
        await background.stop()


async def test_the_scheduler_role_runs_the_standing_jobs(app, database_url):
    background = await start_background(app, "scheduler", [])
    try:
        assert background.planner is not None and background.planner.scheduler.running
        assert stored_jobs(database_url) == ["plan", "prune-updates", "tallies-snapshot"]
    finally:
        await background.stop()
