"""The time source of the scheduler and the worker, so that tests can control it."""

import asyncio
import contextlib
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    """Wall time (for what is stored), a monotonic time (for pacing) and waiting."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    async def sleep(self, seconds: float) -> None:
        """Wait this long."""

    async def wait(self, event: asyncio.Event, timeout: float) -> None:
        """Wait until `event` is set or `timeout` seconds pass."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep."""
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, timeout: float) -> None:
        """Wait for the event, at most `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(0.0, timeout))
