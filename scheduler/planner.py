"""The scheduler: APScheduler 3's AsyncIOScheduler with its jobs stored in our database.

Jobs have stable ids ("reminder:<id>", "broadcast:<id>", "plan", "prune-updates",
"tallies-snapshot") and are
re-planned with replace_existing, so planning twice never duplicates a job. Reminders and
broadcasts are the truth: `plan()` (at start and every PLAN_SECONDS) adds or moves a job for
each that waits, removes jobs of cancelled ones, and marks missed those older than the staleness
limit. A job missed while the scheduler was down runs once when it comes back (coalesce) if it
is within the staleness limit (misfire_grace_time), and is skipped otherwise.

Where the jobs are stored: on PostgreSQL in the same database (table apscheduler_jobs, created
by migration 0005). On SQLite in a sibling file (binhyen-jobs.db next to binhyen.db), whose table
the job store creates itself: APScheduler 3's job store is synchronous and runs inside the event
loop, and SQLite has one writer at a time, so a job store write waiting for the lock held by one
of the bot's async transactions would block the very loop that transaction needs to finish
(a deadlock until the busy timeout). That file holds nothing but APScheduler's copy of the plan,
which plan() rebuilds from the reminders and broadcasts: deleting it loses nothing.
"""

import functools
import inspect
import logging
from datetime import datetime
from pathlib import Path

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from db.models import SCHEDULER_JOBS_TABLE
from db.services import broadcasts, milestones
from db.session import make_sync_engine
from scheduler import jobs
from scheduler.jobs import JobContext

log = logging.getLogger(__name__)

PLAN_SECONDS = 30
PLANNED_KINDS = ("reminder", "broadcast")


def job_store_url(database_url: str) -> str:
    """Where the jobs are stored: the database itself, or a sibling file for SQLite (see above)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return database_url
    path = Path(url.database)
    return url.set(database=str(path.with_name(f"{path.stem}-jobs{path.suffix}"))).render_as_string(
        hide_password=False)


class _WithContext:
    """A job as the executor runs it: its function gets the process's JobContext, and the time
    the run was scheduled for when it takes a `run_time` (it may run later, caught up)."""

    def __init__(self, job, context: JobContext, run_time: datetime) -> None:
        self._job = job
        extra = {"run_time": run_time} if "run_time" in inspect.signature(job.func).parameters else {}
        self.func = functools.partial(job.func, context=context, **extra)

    def __getattr__(self, name: str):
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class ContextExecutor(AsyncIOExecutor):
    """Runs our coroutine jobs in the event loop with the process's JobContext (which cannot be
    stored with the job)."""

    def __init__(self, context: JobContext) -> None:
        super().__init__()
        self.context = context

    def _do_submit_job(self, job, run_times) -> None:
        # With coalesce, run_times holds the one (latest) time this run stands for.
        super()._do_submit_job(_WithContext(job, self.context, run_times[-1]), run_times)


class Planner:
    """Owns the AsyncIOScheduler of this process (only in the scheduler or all role)."""

    def __init__(self, context: JobContext, database_url: str) -> None:
        self.context = context
        context.planner = self
        grace = max(1, int(context.stale_after.total_seconds()))
        self.store_engine = make_sync_engine(job_store_url(database_url))
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.store_engine,
                                                     tablename=SCHEDULER_JOBS_TABLE)},
            executors={"default": ContextExecutor(context)},
            job_defaults={"coalesce": True, "misfire_grace_time": grace, "max_instances": 1},
            timezone=context.tz,
        )

    async def start(self, paused: bool = False) -> None:
        """Start the scheduler with its standing jobs, and plan the waiting work."""
        self.scheduler.start(paused=paused)
        self.scheduler.add_job(
            jobs.plan_jobs, IntervalTrigger(seconds=PLAN_SECONDS, timezone=self.context.tz),
            id="plan", replace_existing=True, misfire_grace_time=None)
        self.scheduler.add_job(
            jobs.prune_ledger, CronTrigger(hour=3, minute=30, timezone=self.context.tz),
            id="prune-updates", replace_existing=True)
        # Late in the evening, so the day's readings and pledges are in that day's snapshot.
        self.scheduler.add_job(
            jobs.snapshot_tallies, CronTrigger(hour=23, minute=45, timezone=self.context.tz),
            id="tallies-snapshot", replace_existing=True)
        await self.plan()

    def shutdown(self) -> None:
        """Stop the scheduler; stored jobs stay for the next start."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.store_engine.dispose()

    async def plan(self) -> int:
        """Add, move or remove jobs to match the waiting reminders and broadcasts; returns how
        many jobs are planned."""
        now = self.context.clock.now()
        wanted: dict[str, tuple] = {}
        async with self.context.sessionmaker() as session, session.begin():
            for reminder in await milestones.planned_reminders(session):
                if self._stale(reminder.due_at, now):
                    await milestones.fire_reminder(session, reminder.id, now,
                                                   self.context.stale_after, self.context.translator)
                else:
                    wanted[f"reminder:{reminder.id}"] = (jobs.fire_reminder, reminder.id,
                                                         reminder.due_at)
            for broadcast in await broadcasts.scheduled_broadcasts(session):
                if self._stale(broadcast.send_at, now):
                    await broadcasts.miss_broadcast(session, broadcast, now, self.context.tz,
                                                    self.context.translator)
                else:
                    wanted[f"broadcast:{broadcast.id}"] = (jobs.fire_broadcast, broadcast.id,
                                                           broadcast.send_at)
        for job in self.scheduler.get_jobs():
            if job.id.split(":")[0] in PLANNED_KINDS and job.id not in wanted:
                job.remove()
        for job_id, (func, item_id, when) in wanted.items():
            self.schedule(job_id, func, item_id, when)
        return len(wanted)

    def schedule(self, job_id: str, func, item_id: int, when: datetime) -> None:
        """One job at `when` under a stable id; nothing is written if it is already planned so."""
        when = when.astimezone(self.context.tz)
        existing = self.scheduler.get_job(job_id)
        if existing is not None and existing.next_run_time == when:
            return
        self.scheduler.add_job(func, DateTrigger(when), args=[item_id],
                               id=job_id, replace_existing=True)

    def _stale(self, due: datetime, now: datetime) -> bool:
        return now - due > self.context.stale_after
