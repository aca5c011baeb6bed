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
class Unreachable:
    """The recipient blocked the bot or no longer exists (Telegram's 403): stop sending to them."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """Anything else; `retry` False when trying again cannot help (e.g. a malformed request)."""

    reason: str
    retry: bool = True


Outcome = Sent | RetryAfter | Unreachable | Failed
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
