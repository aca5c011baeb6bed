"""Senders of the delivery worker (the protocol is in delivery/sender.py), one per channel."""

import hashlib
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)

from base.plain_text import plain_text
from delivery.sender import SENT, Failed, Outcome, Pace, RetryAfter, Unreachable
from delivery.zalo_api import (
    ZaloBadRequest,
    ZaloClient,
    ZaloError,
    ZaloForbidden,
    ZaloNetworkError,
    ZaloRateLimited,
    split_text,
)

# A send must end well within the worker's lease (30 s), so a slow request never outlives it.
SEND_TIMEOUT = 15
# Telegram answers 400 with this when the user never opened a chat with the bot or it is gone.
_GONE = ("chat not found", "user not found", "peer_id_invalid")


class TelegramSender:
    """Sends through the Bot API and turns aiogram's exceptions into the worker's outcomes."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, text: str, pace: Pace | None = None) -> Outcome:
        """sendMessage with the bot's defaults (HTML, no link previews)."""
        try:
            await self.bot.send_message(int(chat_id), text, request_timeout=SEND_TIMEOUT)
        except TelegramRetryAfter as error:
            return RetryAfter(float(error.retry_after))
        except TelegramForbiddenError as error:
            return Unreachable(error.message)
        except TelegramBadRequest as error:
            if any(gone in error.message.lower() for gone in _GONE):
                return Unreachable(error.message)
            return Failed(error.message, retry=False)
        except TelegramNetworkError as error:
            return Failed(f"network: {type(error).__name__}")
        except TelegramAPIError as error:
            return Failed(error.message)
        return SENT


class ZaloSender:
    """Sends through the Zalo Bot API (plain text: Zalo shows no HTML) and maps its errors.

    A text over Zalo's 2,000 characters goes as several messages. When a later part fails and
    the row is retried, the parts Zalo already accepted are not sent again: the sender keeps,
    in memory, how far each such text got (a crash forgets it, as it forgets any send in
    flight). The parts go one at a time, each at the worker's `pace` (one message a second
    to a chat)."""

    # Zalo does not say how long to wait on 429: pause the channel this long.
    DEFAULT_RETRY_AFTER = 5.0
    # Texts cut short and waiting for their retry; the oldest are forgotten beyond this.
    MAX_RESUMABLE = 10_000

    def __init__(self, client: ZaloClient) -> None:
        self.client = client
        self._parts_sent: dict[tuple[str, str], int] = {}

    async def send(self, chat_id: str, text: str, pace: Pace | None = None) -> Outcome:
        """sendMessage, split under Zalo's 2,000 characters."""
        key = (chat_id, hashlib.blake2b(text.encode(), digest_size=16).hexdigest())
        parts = split_text(plain_text(text, "HTML"))
        sent = self._parts_sent.pop(key, 0)
        try:
            for number, part in enumerate(parts[sent:]):
                if number and pace is not None:  # the worker paced the first part already
                    await pace()
                await self.client.send_message(chat_id, part)
                sent += 1
        except ZaloError as error:
            outcome = self._outcome(error)
            retried = isinstance(outcome, RetryAfter) or (isinstance(outcome, Failed) and outcome.retry)
            if sent and retried:
                self._remember(key, sent)
            return outcome
        return SENT

    def _remember(self, key: tuple[str, str], sent: int) -> None:
        if len(self._parts_sent) >= self.MAX_RESUMABLE:
            del self._parts_sent[next(iter(self._parts_sent))]
        self._parts_sent[key] = sent

    def _outcome(self, error: ZaloError) -> Outcome:
        if isinstance(error, ZaloRateLimited):
            return RetryAfter(error.retry_after or self.DEFAULT_RETRY_AFTER)
        if isinstance(error, ZaloForbidden):
            return Unreachable(error.description)
        if isinstance(error, ZaloBadRequest):
            return Failed(error.description, retry=False)
        if isinstance(error, ZaloNetworkError):
            return Failed(f"network: {error.description}")
        return Failed(error.description)


class TextSender:
    """Prints deliveries for the console channel (or any writer), as plain text."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    async def send(self, chat_id: str, text: str, pace: Pace | None = None) -> Outcome:
        """Write the message, marked with the chat it is for."""
        self.write(f"[Bình Yên → {chat_id}]\n{plain_text(text, 'HTML')}\n")
        return SENT
