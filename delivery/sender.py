"""The Sender protocol: how the delivery worker hands one text to one chat of a channel.

A channel (Telegram, Zalo, the console) provides a Sender; the worker never knows which channel
it talks to. `send` must not raise for the recipient's or the channel's problems: it says what
happened with one of the outcomes below. The text is Telegram HTML already in the recipient's
language; a text-only channel strips the tags (see bot.channels.text_session.plain_text).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Sent:
    """The channel accepted the message."""


@dataclass(frozen=True)
class RetryAfter:
    """The channel is over its rate limit: send nothing on it for `seconds`, then retry."""

    seconds: float


@dataclass(frozen=True)
class QuotaExceeded:
    """The channel's quota is used up and it does not say until when (Zalo's 429): the worker
    pauses the whole channel, longer each time the quota is still exhausted; `seconds` is the
    pause the worker chose for this row."""

    reason: str
    seconds: float = 0.0


@dataclass(frozen=True)
class Unreachable:
    """The recipient blocked the bot or no longer exists (Telegram's 403): stop sending to them."""

    reason: str


@dataclass(frozen=True)
class Refused:
    """The channel refused this message for good without saying the recipient is gone (Zalo's
    400 or 404, which no document ties to a blocked user): the row fails, and the member is
    marked unreachable only after `Channel.refusals_before_unreachable` such refusals in a row
    while the channel delivers to others."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """Anything else; `retry` False when trying again cannot help (e.g. a malformed request)."""

    reason: str
    retry: bool = True


Outcome = Sent | RetryAfter | QuotaExceeded | Unreachable | Refused | Failed
SENT = Sent()
# Waits for the turn of one more message to the same chat (the channel's rate, and one
# message per second to a chat).
Pace = Callable[[], Awaitable[None]]


class Sender(Protocol):
    """Sends one text to one chat of a channel."""

    async def send(self, chat_id: str, text: str, pace: Pace | None = None) -> Outcome:
        """Deliver `text` (Telegram HTML) to `chat_id` and say how it went. A channel that
        sends the text as several messages awaits `pace()` before each one after the first."""


@dataclass(frozen=True)
class Channel:
    """A channel the worker drains: its name in `deliveries.channel`, its sender and its rate."""

    name: str
    sender: Sender
    rate: float  # messages per second for the whole channel
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    # Refused messages in a row (see Refused) after which a member is marked unreachable.
    refusals_before_unreachable: int = 3
