"""The scheduled jobs: fire a reminder, start a broadcast, re-plan, prune the update ledger.

Jobs are stored in the database by APScheduler, so they are module functions called with plain
ids; what they need from the running process comes as their `context` argument, a JobContext,
which the scheduler's executor supplies (see scheduler/planner.py): it cannot be stored. Each job opens its own
transaction, and each is idempotent: running one twice (two schedulers by mistake, a retry)
sends nothing twice.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from base.clock import Clock
from db.services import broadcasts, milestones
from db.services.schedule_times import QuietHours
from db.services.tallies import campaigns_running, sync_tallies
from db.services.updates import prune_updates
from db.text import Translator

if TYPE_CHECKING:
    from content.catalog import Catalog
    from scheduler.planner import Planner

log = logging.getLogger(__name__)

# Telegram redelivers an update for 24 hours at most; a week of ledger is plenty.
LEDGER_DAYS = 7


@dataclass
class JobContext:
    """What jobs use: the database, the deployment's time settings, the texts and the worker."""

    sessionmaker: async_sessionmaker[AsyncSession]
    tz: ZoneInfo
    quiet: QuietHours | None
    stale_after: timedelta
    translator: Translator
    clock: Clock
    wake_worker: Callable[[], None] = lambda: None
    planner: "Planner | None" = field(default=None, repr=False)
    # The outreach articles broadcasts may carry (None: the catalog shipped with the code).
    catalog: "Catalog | None" = field(default=None, repr=False)


async def fire_reminder(reminder_id: int, context: JobContext | None = None) -> int | None:
    """Queue a due reminder's deliveries (once)."""
    async with context.sessionmaker() as session, session.begin():
        added = await milestones.fire_reminder(
            session, reminder_id, context.clock.now(), context.stale_after, context.translator)
    if added is not None:
        log.info("reminder %s queued for %s recipients", reminder_id, added)
        context.wake_worker()
    return added


async def fire_broadcast(broadcast_id: int, context: JobContext | None = None) -> bool:
    """Start a scheduled broadcast (once), or mark it missed when it is stale."""
    now = context.clock.now()
    async with context.sessionmaker() as session, session.begin():
        broadcast = await broadcasts.get_broadcast(session, broadcast_id)
        if broadcast is None or broadcast.status != "scheduled" or broadcast.send_at > now:
            return False
        if now - broadcast.send_at > context.stale_after:
            log.warning("broadcast %s missed its time by %s; not sent", broadcast_id,
                        now - broadcast.send_at)
            await broadcasts.miss_broadcast(session, broadcast, now, context.tz, context.translator)
            started = False
        else:
            started = await broadcasts.start_broadcast(
                session, broadcast, now, context.tz, context.translator, context.catalog)
    context.wake_worker()
    return started


async def plan_jobs(context: JobContext | None = None) -> None:
    """Bring the jobs in line with the reminders and broadcasts in the database (which other
    instances may have added)."""
    if context.planner is not None:
        await context.planner.plan()


async def snapshot_tallies(context: JobContext | None = None, run_time: datetime | None = None) -> int:
    """Store the day's tally snapshot of every running campaign (for progress over time).

    The day is the one the run was scheduled for (`run_time`, given by the executor), so the
    23:45 run caught up after midnight still stores under the evening it belongs to."""
    day = (run_time or context.clock.now()).astimezone(context.tz).date()
    rows = 0
    async with context.sessionmaker() as session, session.begin():
        for campaign in await campaigns_running(session, day):
            rows += await sync_tallies(session, campaign, day, context.tz)
    log.info("stored %s tally numbers for %s", rows, day)
    return rows


async def prune_ledger(context: JobContext | None = None) -> int:
    """Forget processed updates older than a week."""
    async with context.sessionmaker() as session, session.begin():
        removed = await prune_updates(session, context.clock.now() - timedelta(days=LEDGER_DAYS))
    log.info("pruned %s processed updates", removed)
    return removed
