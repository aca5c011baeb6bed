"""Pacing: a channel's messages per second, one message per second per chat, and 429 pauses."""

from base.clock import Clock


class Pacer:
    """Lets at most `rate` sends per second through, evenly spaced.

    A token bucket holding one token: after a stall it never bursts, so no window of one second
    sees more than rate + 1 sends (Telegram answers 429 above about 30 per second). A pause
    (after a 429) holds everything back until it ends.
    """

    def __init__(self, rate: float, clock: Clock) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.next_slot = 0.0
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (the channel's retry_after)."""
        self.paused_until = max(self.paused_until, self.clock.monotonic() + seconds)

    async def acquire(self) -> None:
        """Wait for this send's turn."""
        while True:
            now = self.clock.monotonic()
            if now < self.paused_until:
                await self.clock.sleep(self.paused_until - now)
                continue
            # Reserve the slot before waiting, so that concurrent callers queue in order.
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
            if slot > now:
                await self.clock.sleep(slot - now)
            if self.clock.monotonic() >= self.paused_until:
                return


class ChatGate:
    """At most one message per `interval` seconds to the same chat."""

    def __init__(self, interval: float, clock: Clock) -> None:
        self.interval = interval
        self.clock = clock
        self.next_slot: dict[str, float] = {}

    def ready_at(self, chat_id: str) -> float:
        """When (on the clock's monotonic time) this chat may receive its next message."""
        return self.next_slot.get(chat_id, 0.0)

    def sending(self, chat_id: str) -> None:
        """A message to this chat leaves now: the next waits a whole interval from now, even if
        this one left later than its turn (the event loop was busy)."""
        self.next_slot[chat_id] = max(self.next_slot.get(chat_id, 0.0),
                                      self.clock.monotonic() + self.interval)

    async def acquire(self, chat_id: str) -> None:
        """Wait until this chat may receive another message."""
        now = self.clock.monotonic()
        if len(self.next_slot) > 10_000:
            # Forget chats whose turn has passed, so the map stays small.
            self.next_slot = {chat: slot for chat, slot in self.next_slot.items() if slot > now}
        slot = max(now, self.next_slot.get(chat_id, 0.0))
        self.next_slot[chat_id] = slot + self.interval
        if slot > now:
            await self.clock.sleep(slot - now)
