"""What runs beside the bot, by role: the scheduler (jobs) and the delivery worker.

`binhyen run --role ROLE`:
- all (default, one instance): the bot, the scheduler and the delivery worker;
- bot: only the bot (more instances behind a webhook);
- scheduler: the scheduler and a delivery worker, no updates (exactly one such process);
- worker: only a delivery worker (more of them share the rows on PostgreSQL);
- web: only the desk, the web dashboard (all serves it too).
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from base.clock import Clock, SystemClock
from base.i18n import translator
from bot.app import App
from db.services.broadcasts import finish_broadcasts
from delivery.sender import Channel
from delivery.worker import AfterRecording, DeliveryWorker
from scheduler.jobs import JobContext
from scheduler.planner import Planner

log = logging.getLogger(__name__)

RUN_ROLES = ("all", "bot", "scheduler", "worker", "web")


def runs_bot(role: str) -> bool:
    """Does this role answer updates?"""
    return role in ("all", "bot")


def closing_broadcasts(app: App) -> AfterRecording:
    """After the worker records outcomes: close finished broadcasts and queue the final counts."""
    texts = translator(app.i18n)

    async def close(session: AsyncSession, now: datetime) -> None:
        await finish_broadcasts(session, now, app.settings.tz, texts)

    return close


def make_worker(app: App, channels: list[Channel], clock: Clock | None = None) -> DeliveryWorker:
    """A delivery worker for these channels with the deployment's quiet hours."""
    return DeliveryWorker(app.engine, channels, clock=clock, quiet=app.settings.quiet,
                          tz=app.settings.tz, after_recording=closing_broadcasts(app))


@dataclass
class Background:
    """The scheduler and worker of this process, per its role."""

    planner: Planner | None = None
    worker: DeliveryWorker | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def stop(self) -> None:
        """Stop the worker (in-flight sends finish, the rest is given back) and the scheduler."""
        if self.worker is not None:
            self.worker.stop()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.planner is not None:
            self.planner.shutdown()


async def start_background(app: App, role: str, channels: list[Channel]) -> Background:
    """Start what `role` runs beside the bot."""
    background = Background()
    if role in ("bot", "web"):
        return background
    if channels:
        background.worker = make_worker(app, channels)
        background.tasks.append(asyncio.create_task(background.worker.run()))
    else:
        log.warning("no channel to deliver on: deliveries wait for a worker that has one")
    if role in ("all", "scheduler"):
        context = JobContext(
            app.sessionmaker, app.settings.tz, app.settings.quiet,
            timedelta(hours=app.settings.schedule_stale_hours), translator(app.i18n), SystemClock(),
            wake_worker=background.worker.wake if background.worker else (lambda: None),
            catalog=app.dispatcher["catalog"])
        background.planner = Planner(context, app.settings.database_url)
        await background.planner.start()
    return background
