"""The delivery worker: drains `deliveries` through each channel's rate limits.

Per channel it claims due rows (one transaction, 'sending' with a lease), paces them (the
channel's messages per second, one per second per chat), sends each through the channel's
Sender and records the outcome in its own transaction as soon as it is known:

- sent: never sent again;
- retry after N s (Telegram's 429): the channel pauses N s and the same row is retried then;
- quota exceeded (Zalo's 429, which says neither how long nor when the quota resets): the
  channel pauses for 1 minute, then twice as long each time its first message is refused
  again, up to an hour; the other channels go on. One WARNING per pause, the rows waiting
  carry QUOTA_WAIT (so /healthz, `binhyen campaign show` and a broadcast's progress can say
  so), and the first message that goes through ends it;
- unreachable (Telegram's 403): the member is marked unreachable and their pending rows are
  dropped;
- refused (Zalo's 400/404): the row fails; after the channel's `refusals_before_unreachable`
  in a row for one member, while others receive, the member is marked unreachable;
- failed: retried with exponential backoff, then failed with the reason.

Crash rule: a worker renews the lease of the rows it holds every few seconds (only those it
knows it holds: a claim whose COMMIT went through while the answer was lost, in an outage, is
not renewed, so its rows run out like a dead worker's). Rows of a worker that died stay
'sending' until their lease runs out, then any worker gives them back and they are sent again. So a crash re-sends at most the rows that were in flight (claimed, not yet recorded);
the ones the channel had accepted before the crash reach their chat twice. No row recorded as
sent is ever sent again.

Database outages: the worker keeps running. Claiming pauses and is tried again every few
seconds; an outcome that cannot be recorded is kept in memory, its row still held under the
worker's lease, and recorded as soon as the database answers, so a message the channel accepted
is not sent again when the database comes back.
"""

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from base.clock import Clock, SystemClock
from db.services import deliveries
from db.services.deliveries import Claimed
from db.services.schedule_times import QuietHours
from db.session import make_read_sessionmaker, make_sessionmaker
from delivery.rate_limit import ChatGate, Pacer
from delivery.sender import (
    Channel,
    Failed,
    Outcome,
    QuotaExceeded,
    Refused,
    RetryAfter,
    Sent,
    Unreachable,
)

log = logging.getLogger(__name__)

# While the database does not answer, look again this often (seconds).
DB_RETRY = 2.0
# A channel whose quota is used up pauses this long first, then twice as long each time it is
# still used up, up to the longest wait (seconds).
QUOTA_FIRST_WAIT = 60.0
QUOTA_LONGEST_WAIT = 3600.0


@dataclass
class QuotaPause:
    """A channel paused because its quota is used up: since when, and its current wait."""

    since: datetime
    wait: float
    until: float  # on the worker clock's monotonic time

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
        self.reads = make_read_sessionmaker(engine)
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
        self.held: set[int] = set()  # claimed, outcome not yet recorded: the leases we renew
        self.in_flight: set[asyncio.Task] = set()
        # Outcomes known but not yet stored (the database was away), oldest first.
        self.unrecorded: list[tuple[Claimed, Outcome]] = []
        self.database_down = False
        # Channels paused because their quota is used up (one entry per pause, until a send
        # goes through).
        self.quota: dict[str, QuotaPause] = {}
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
        # A stop() that came before this task began is kept: it returns at once.
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
            await self._record_pending()
            await self._give_back()
            if self.unrecorded:
                # Their rows come back when the lease runs out and are sent again.
                log.error("%s delivery outcomes could not be recorded before stopping",
                          len(self.unrecorded))
            self._stop.clear()  # ready for another run() or drain()

    async def _give_back(self) -> None:
        if self.waiting:
            try:
                async with self.sessions() as session, session.begin():
                    await deliveries.release(session, list(self.waiting), self.clock.now())
            except Exception as error:  # they come back when the lease runs out
                log.warning("could not give back claimed deliveries: %s", type(error).__name__)
            self.held.difference_update(self.waiting)
            self.waiting.clear()

    def _database_failed(self, error: Exception) -> None:
        """Note a failed database call: warned once per outage, then retried quietly."""
        if not self.database_down:
            log.warning("delivery worker: the database does not answer (%s); retrying every %.0f s",
                        type(error).__name__, DB_RETRY)
        self.database_down = True

    def _database_answered(self) -> None:
        if self.database_down:
            log.warning("delivery worker: the database answers again")
        self.database_down = False

    async def _record_pending(self) -> None:
        """Store the outcomes that could not be stored while the database was away."""
        while self.unrecorded:
            row, outcome = self.unrecorded[0]
            try:
                await self._store(row, outcome)
            except Exception as error:
                self._database_failed(error)
                return
            self.unrecorded.pop(0)
            self._database_answered()

    async def _maintain(self, until_done: str | None) -> None:
        """Renew our leases, give back rows of dead workers, close finished work; in drain mode,
        stop when nothing is left."""
        state = {"last_lease": -self.lease, "seen": -1}
        while not self._stop.is_set():
            try:
                if await self._maintain_once(until_done, state):
                    self._stop.set()
                    return
            except Exception as error:
                self._database_failed(error)
                await self.clock.wait(self._stop, DB_RETRY)
                continue
            await self.clock.wait(self._stop, self.idle_poll if until_done is None else 0.05)

    async def _maintain_once(self, until_done: str | None, state: dict) -> bool:
        """One round of upkeep; True when draining is done."""
        now, tick = self.clock.now(), self.clock.monotonic()
        if tick - state["last_lease"] >= self.lease / 3:
            async with self.sessions() as session, session.begin():
                await deliveries.renew_leases(session, self.name, list(self.held), now)
                back = await deliveries.reclaim_expired(
                    session, now - timedelta(seconds=self.lease), now)
            state["last_lease"] = tick
            self._database_answered()
            if back:
                log.warning("%s deliveries of a stopped worker will be sent again", back)
                self.wake()
        await self._record_pending()
        recorded = self.recorded  # outcomes recorded while it runs are looked at next round
        if recorded != state["seen"]:
            if self.after_recording is not None:
                async with self.sessions() as session, session.begin():
                    await self.after_recording(session, now)
            state["seen"] = recorded
        if (until_done is not None and not self.in_flight and not self.waiting
                and not self.unrecorded):
            async with self.reads() as session:
                left, _ = await deliveries.outstanding(
                    session, list(self.channels), until_done or None)
            return left == 0 and self.recorded == state["seen"]
        return False

    async def _pump(self, channel: str) -> None:
        """Claim due rows of one channel and hand them to the channel at its pace."""
        pacer, gate = self.pacers[channel], self.gates[channel]
        batch = max(1, round(self.channels[channel].rate))  # about one second of sending
        while not self._stop.is_set():
            paused = pacer.paused_until - self.clock.monotonic()
            if paused > 0 and channel in self.quota:
                # Claim nothing while the quota is used up: the rows stay free meanwhile.
                await self.clock.wait(self._stop, paused)
                continue
            now = self.clock.now()
            quiet = self.quiet is not None and self.quiet.covers(now, self.tz)
            try:
                rows = await self._claim(channel, batch, now, quiet)
            except Exception as error:
                self._database_failed(error)
                await self.clock.wait(self._stop, DB_RETRY)
                continue
            self._database_answered()
            if not rows:
                self._wakeup.clear()
                await self.clock.wait(self._wakeup, self.idle_poll)
                continue
            queue = list(rows)
            while queue:
                # The next row whose chat may have a message now: one that must wait for its
                # chat's second does not hold back the rows to other chats behind it.
                tick = self.clock.monotonic()
                if channel in self.quota and pacer.paused_until > tick:
                    await self._give_back_rows(queue)  # sent once the pause is over
                    break
                row = next((r for r in queue if gate.ready_at(r.chat_id) <= tick), None)
                if row is None:
                    await self.clock.sleep(min(gate.ready_at(r.chat_id) for r in queue) - tick)
                    continue
                queue.remove(row)
                await gate.acquire(row.chat_id)
                await pacer.acquire()
                await self.slots.acquire()
                self.waiting.discard(row.id)
                task = asyncio.create_task(self._deliver(channel, row))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)

    async def _give_back_rows(self, rows: list[Claimed]) -> None:
        ids = [row.id for row in rows]
        try:
            async with self.sessions() as session, session.begin():
                await deliveries.release(session, ids, self.clock.now())
        except Exception as error:  # they come back when the lease runs out
            self._database_failed(error)
            return
        self.waiting.difference_update(ids)
        self.held.difference_update(ids)

    async def _claim(self, channel: str, limit: int, now: datetime, quiet: bool) -> list[Claimed]:
        """Claim due rows; they are `waiting` (given back if the worker stops) from before the
        COMMIT, and `held` (their lease renewed) once it is known to have gone through."""
        async with self.reads() as session:
            # A read-only look first: an idle worker never takes SQLite's write lock.
            earliest = await deliveries.next_due(session, channel, urgent_only=quiet)
        if earliest is None or earliest > now:
            return []
        rows: list[Claimed] = []
        try:
            async with self.sessions() as session, session.begin():
                rows = await deliveries.claim(session, channel, limit, now, self.name, urgent_only=quiet)
                self.waiting.update(row.id for row in rows)
        except asyncio.CancelledError:
            raise  # stopped during the COMMIT: the rows are given back (a no-op if it failed)
        except Exception:
            # The COMMIT may have gone through unheard: not renewed, those rows run out.
            self.waiting.difference_update(row.id for row in rows)
            raise
        self.held.update(row.id for row in rows)
        return rows

    async def _deliver(self, channel: str, row: Claimed) -> None:
        try:
            self.gates[channel].sending(row.chat_id)
            try:
                outcome = await self.channels[channel].sender.send(
                    row.chat_id, row.text, pace=lambda: self._next_message(channel, row.chat_id))
            except Exception as error:  # a Sender should not raise; never lose the row if it does
                outcome = Failed(type(error).__name__)
            if isinstance(outcome, RetryAfter):
                # Hold the channel back at once, before anything else is handed to it.
                self.pacers[channel].pause(outcome.seconds)
                log.warning("%s asks to wait %.0f s; pausing the channel", channel, outcome.seconds)
            elif isinstance(outcome, QuotaExceeded):
                outcome = replace(outcome, seconds=self._quota_used_up(channel))
            elif isinstance(outcome, Sent) and channel in self.quota:
                pause = self.quota.pop(channel)
                log.info("%s sends again after its quota pause of %s", channel,
                         self.clock.now() - pause.since)
            if self.unrecorded:
                self.unrecorded.append((row, outcome))  # after the older ones
                return
            try:
                await self._store(row, outcome)
            except Exception as error:
                # Kept until the database answers; the row stays ours under the lease meanwhile.
                self._database_failed(error)
                self.unrecorded.append((row, outcome))
        finally:
            self.slots.release()

    def _quota_used_up(self, channel: str) -> float:
        """Pause the channel for its quota: the first wait, or twice the last when the message
        sent after it was refused too; the seconds left of the pause."""
        tick = self.clock.monotonic()
        pause = self.quota.get(channel)
        if pause is None:
            pause = self.quota[channel] = QuotaPause(self.clock.now(), QUOTA_FIRST_WAIT,
                                                     tick + QUOTA_FIRST_WAIT)
            log.warning("%s: quota exceeded (429); the channel pauses %.0f s, then longer each "
                        "time it is still exceeded (up to %.0f s), until a message goes through",
                        channel, QUOTA_FIRST_WAIT, QUOTA_LONGEST_WAIT)
        elif tick >= pause.until:
            pause.wait = min(pause.wait * 2, QUOTA_LONGEST_WAIT)
            pause.until = tick + pause.wait
        # else: a message handed over before the pause began: the same pause holds.
        self.pacers[channel].pause(pause.until - tick)
        return pause.until - tick

    async def _next_message(self, channel: str, chat_id: str) -> None:
        """The turn of a text's next part (on Zalo, 2,000 characters a message): a second after
        the part before it reached the chat, at the channel's rate."""
        self.gates[channel].sending(chat_id)
        await self.gates[channel].acquire(chat_id)
        await self.pacers[channel].acquire()

    async def _store(self, row: Claimed, outcome: Outcome) -> None:
        """Record one outcome in its own transaction."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            match outcome:
                case Sent():
                    await deliveries.record_sent(session, row.id, now)
                case RetryAfter(seconds=seconds):
                    await deliveries.record_retry(
                        session, row.id, now + timedelta(seconds=seconds), None, counts=False)
                case QuotaExceeded(seconds=seconds):
                    await deliveries.record_retry(session, row.id, now + timedelta(seconds=seconds),
                                                  deliveries.QUOTA_WAIT, counts=False)
                case Unreachable(reason=reason):
                    await deliveries.record_unreachable(session, row.id, row.member_id, reason, now)
                case Refused(reason=reason):
                    await deliveries.record_refused(session, row.id, reason)
                    await self._after_refusal(session, row, reason, now)
                case Failed(reason=reason, retry=retry):
                    if retry and row.attempts + 1 < self.max_attempts:
                        delay = min(self.backoff_max, self.backoff * 2 ** row.attempts)
                        await deliveries.record_retry(
                            session, row.id, now + timedelta(seconds=delay), reason, counts=True)
                    else:
                        log.warning("delivery %s failed: %s", row.id, reason)
                        await deliveries.record_failed(session, row.id, reason)
        self.held.discard(row.id)
        self.recorded += 1

    async def _after_refusal(self, session: AsyncSession, row: Claimed, reason: str,
                             now: datetime) -> None:
        """Mark the member unreachable once their channel refused them often enough in a row."""
        channel = self.channels.get(row.channel)
        if row.member_id is None or channel is None:
            return
        if await deliveries.refused_in_a_row(session, row.member_id, row.channel,
                                             channel.refusals_before_unreachable):
            log.warning("a member on %s was refused %s times in a row: marked unreachable",
                        row.channel, channel.refusals_before_unreachable)
            await deliveries.mark_unreachable(session, row.member_id, deliveries.REFUSED + reason, now)
