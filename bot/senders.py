"""Senders of the delivery worker (the protocol is in scheduler/sender.py), one per channel."""

from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)

from bot.channels.text_session import plain_text
from bot.channels.zalo_client import (
    ZaloBadRequest,
    ZaloClient,
    ZaloError,
    ZaloForbidden,
    ZaloNetworkError,
    ZaloRateLimited,
)
from scheduler.sender import SENT, Failed, Outcome, RetryAfter, Unreachable

# A send must end well within the worker's lease (30 s), so a slow request never outlives it.
SEND_TIMEOUT = 15
# Telegram answers 400 with this when the user never opened a chat with the bot or it is gone.
_GONE = ("chat not found", "user not found", "peer_id_invalid")


class TelegramSender:
    """Sends through the Bot API and turns aiogram's exceptions into the worker's outcomes."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, text: str) -> Outcome:
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
    """Sends through the Zalo Bot API (plain text: Zalo shows no HTML) and maps its errors."""

    # Zalo does not say how long to wait on 429: pause the channel this long.
    DEFAULT_RETRY_AFTER = 5.0

    def __init__(self, client: ZaloClient) -> None:
        self.client = client

    async def send(self, chat_id: str, text: str) -> Outcome:
        """sendMessage, split under Zalo's 2,000 characters."""
        try:
            await self.client.send_text(chat_id, plain_text(text, "HTML"))
        except ZaloRateLimited as error:
            return RetryAfter(error.retry_after or self.DEFAULT_RETRY_AFTER)
        except ZaloForbidden as error:
            return Unreachable(error.description)
        except ZaloBadRequest as error:
            return Failed(error.description, retry=False)
        except ZaloNetworkError as error:
            return Failed(f"network: {error.description}")
        except ZaloError as error:
            return Failed(error.description)
        return SENT


class TextSender:
    """Prints deliveries for the console channel (or any writer), as plain text."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    async def send(self, chat_id: str, text: str) -> Outcome:
        """Write the message, marked with the chat it is for."""
        self.write(f"[Bình Yên → {chat_id}]\n{plain_text(text, 'HTML')}\n")
        return SENT
