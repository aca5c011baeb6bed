"""The delivery worker: drains `deliveries` through each channel's rate limits.

Per channel it claims due rows (one transaction, 'sending' with a lease), paces them (the
channel's messages per second, one per second per chat), sends each through the channel's
Sender and records the outcome in its own transaction as soon as it is known:

- sent: never sent again;
- retry after N s (429): the channel pauses N s and the same row is retried then;
- unreachable (403): the member is marked unreachable and their pending rows are dropped;
- failed: retried with exponential backoff, then failed with the reason.

Crash rule: a worker renews the lease of the rows it holds every few seconds. Rows of a worker
that died stay 'sending' until their lease runs out, then any worker gives them back and they are
sent again. So a crash re-sends at most the rows that were in flight (claimed, not yet recorded);
the ones the channel had accepted before the crash reach their chat twice. No row recorded as
sent is ever sent again.
"""

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.services import deliveries
from db.services.deliveries import Claimed
from db.services.schedule_times import QuietHours
from db.session import READ_ONLY, make_sessionmaker
from scheduler.clock import Clock, SystemClock
from scheduler.rate_limit import ChatGate, Pacer
from scheduler.sender import Channel, Failed, Outcome, RetryAfter, Sent, Unreachable

log = logging.getLogger(__name__)

# Called after outcomes were recorded, in a transaction (e.g. to close finished broadcasts).
AfterRecording = Callable[[AsyncSession, datetime], Awaitable[None]]


def worker_name() -> str:
    """A name unique to this worker process, kept on the rows it claims."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DeliveryWorker:
    """Sends pending deliveries of its channels; several may run at once on PostgreSQL."""

    def __init__(
        self,
        engine: AsyncEngine,
        channels: list[Channel],
        *,
        clock: Clock | None = None,
        quiet: QuietHours | None = None,
        tz: ZoneInfo | None = None,
        after_recording: AfterRecording | None = None,
        lease: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 5.0,
        backoff_max: float = 600.0,
        idle_poll: float = 1.0,
        concurrency: int = 32,
    ) -> None:
        self.sessions = make_sessionmaker(engine)
        self.reads = make_sessionmaker(engine.execution_options(**READ_ONLY))
        self.channels = {channel.name: channel for channel in channels}
        self.clock = clock or SystemClock()
        self.quiet, self.tz = quiet, tz or ZoneInfo("Asia/Ho_Chi_Minh")
        self.after_recording = after_recording
        self.lease, self.max_attempts = lease, max_attempts
        self.backoff, self.backoff_max = backoff, backoff_max
        self.idle_poll = idle_poll
        self.name = worker_name()
        self.pacers = {name: Pacer(c.rate, self.clock) for name, c in self.channels.items()}
        self.gates = {name: ChatGate(c.per_chat_interval, self.clock) for name, c in self.channels.items()}
        self.slots = asyncio.Semaphore(concurrency)
        self.waiting: set[int] = set()  # claimed, not yet handed to the channel
        self.in_flight: set[asyncio.Task] = set()
        self.recorded = 0
        self._wakeup = asyncio.Event()
        self._stop = asyncio.Event()

    def wake(self) -> None:
        """New rows may be due: look now instead of at the next poll."""
        self._wakeup.set()

    def stop(self) -> None:
        """Finish what is in flight, give back the rest, and return from run()/drain()."""
        self._stop.set()
        self._wakeup.set()

    async def run(self) -> None:
        """Send until stop() is called."""
        await self._serve(until_done=None)

    async def drain(self, source: str | None = None) -> None:
        """Send until no row of these channels (of `source` and its reports, if given) is left,
        waiting for retries that are not due yet."""
        await self._serve(until_done=source or "")

    async def _serve(self, until_done: str | None) -> None:
        self._stop.clear()
        tasks = [asyncio.create_task(self._pump(name)) for name in self.channels]
        tasks.append(asyncio.create_task(self._maintain(until_done)))
        try:
            await self._stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.in_flight:
                await asyncio.gather(*self.in_flight, return_exceptions=True)
            await self._give_back()

    async def _give_back(self) -> None:
        if self.waiting:
            async with self.sessions() as session, session.begin():
                await deliveries.release(session, list(self.waiting), self.clock.now())
            self.waiting.clear()

    async def _maintain(self, until_done: str | None) -> None:
        """Renew our leases, give back rows of dead workers, close finished work; in drain mode,
        stop when nothing is left."""
        last_lease = -self.lease
        seen = -1
        while not self._stop.is_set():
            now, tick = self.clock.now(), self.clock.monotonic()
            if tick - last_lease >= self.lease / 3:
                last_lease = tick
                async with self.sessions() as session, session.begin():
                    await deliveries.renew_leases(session, self.name, now)
                    back = await deliveries.reclaim_expired(
                        session, now - timedelta(seconds=self.lease), now)
                if back:
                    log.warning("%s deliveries of a stopped worker will be sent again", back)
                    self.wake()
            if self.recorded != seen:
                seen = self.recorded
                if self.after_recording is not None:
                    async with self.sessions() as session, session.begin():
                        await self.after_recording(session, now)
            if until_done is not None and not self.in_flight and not self.waiting:
                async with self.reads() as session:
                    left, _ = await deliveries.outstanding(
                        session, list(self.channels), until_done or None)
                if left == 0 and self.recorded == seen:
                    self._stop.set()
                    return
            await self.clock.wait(self._stop, self.idle_poll if until_done is None else 0.05)

    async def _pump(self, channel: str) -> None:
        """Claim due rows of one channel and hand them to the channel at its pace."""
        pacer, gate = self.pacers[channel], self.gates[channel]
        batch = max(1, round(self.channels[channel].rate))  # about one second of sending
        while not self._stop.is_set():
            now = self.clock.now()
            quiet = self.quiet is not None and self.quiet.covers(now, self.tz)
            rows = await self._claim(channel, batch, now, quiet)
            if not rows:
                self._wakeup.clear()
                await self.clock.wait(self._wakeup, self.idle_poll)
                continue
            self.waiting.update(row.id for row in rows)
            for row in rows:
                await gate.acquire(row.chat_id)
                await pacer.acquire()
                await self.slots.acquire()
                self.waiting.discard(row.id)
                task = asyncio.create_task(self._deliver(channel, row))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)

    async def _claim(self, channel: str, limit: int, now: datetime, quiet: bool) -> list[Claimed]:
        async with self.reads() as session:
            # A read-only look first: an idle worker never takes SQLite's write lock.
            earliest = await deliveries.next_due(session, channel, urgent_only=quiet)
        if earliest is None or earliest > now:
            return []
        async with self.sessions() as session, session.begin():
            return await deliveries.claim(session, channel, limit, now, self.name, urgent_only=quiet)

    async def _deliver(self, channel: str, row: Claimed) -> None:
        try:
            try:
                outcome = await self.channels[channel].sender.send(row.chat_id, row.text)
            except Exception as error:  # a Sender should not raise; never lose the row if it does
                outcome = Failed(type(error).__name__)
            await self._record(channel, row, outcome)
        except Exception:
            # The row stays 'sending' and is given back when the lease runs out.
            log.exception("could not record the outcome of delivery %s", row.id)
        finally:
            self.slots.release()

    async def _record(self, channel: str, row: Claimed, outcome: Outcome) -> None:
        now = self.clock.now()
        if isinstance(outcome, RetryAfter):
            # Hold the channel back at once, before anything else is handed to it.
            self.pacers[channel].pause(outcome.seconds)
            log.warning("%s asks to wait %.0f s; pausing the channel", channel, outcome.seconds)
        async with self.sessions() as session, session.begin():
            match outcome:
                case Sent():
                    await deliveries.record_sent(session, row.id, now)
                case RetryAfter(seconds=seconds):
                    await deliveries.record_retry(
                        session, row.id, now + timedelta(seconds=seconds), None, counts=False)
                case Unreachable(reason=reason):
                    await deliveries.record_unreachable(session, row.id, row.member_id, reason, now)
                case Failed(reason=reason, retry=retry):
                    if retry and row.attempts + 1 < self.max_attempts:
                        delay = min(self.backoff_max, self.backoff * 2 ** row.attempts)
                        await deliveries.record_retry(
                            session, row.id, now + timedelta(seconds=delay), reason, counts=True)
                    else:
                        log.warning("delivery %s failed: %s", row.id, reason)
                        await deliveries.record_failed(session, row.id, reason)
        self.recorded += 1
