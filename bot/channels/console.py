"""The local console channel: chat with the bot in a terminal, or replay a script of lines."""

import asyncio
import logging
import tempfile
from collections.abc import Callable

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.types import User

from base.i18n import use_locale
from bot.app import App
from bot.channels.text_session import TextChannelSession
from bot.errors import apology

log = logging.getLogger(__name__)

# The console bot needs a token of Telegram's shape; no request ever leaves the process.
CONSOLE_TOKEN = "1000:console"


class ConsoleSession(TextChannelSession):
    """Prints what the bot sends; a message for another chat is marked with its chat id."""

    def __init__(self, write: Callable[[str], None], user_id: int) -> None:
        super().__init__()
        self.write = write
        self.user_id = user_id

    async def deliver(self, chat_id: int, text: str) -> None:
        """Print one message of the bot."""
        header = "Bình Yên" if chat_id == self.user_id else f"Bình Yên → {chat_id}"
        self.write(f"[{header}]\n{text}\n")

    async def deliver_photo(self, chat_id: int, photo: object, caption: str) -> bool:
        """Save a photo (a chart) to a temporary file and print where it is; a photo by URL
        is printed as its URL."""
        if isinstance(photo, str) and photo.startswith(("https://", "http://")):
            await self.deliver(chat_id, f"[{photo}] {caption}".strip())
            return True
        data = getattr(photo, "data", None)
        if not isinstance(data, bytes):
            return False
        with tempfile.NamedTemporaryFile(prefix="binhyen-", suffix=".png", delete=False) as file:
            file.write(data)
        await self.deliver(chat_id, f"[{file.name}] {caption}".strip())
        return True


class ConsoleChat:
    """One console user talking to the full bot through the real dispatcher."""

    def __init__(self, app: App, user_id: int, write: Callable[[str], None] = print) -> None:
        self.app = app
        self.write = write
        self.session = ConsoleSession(write, user_id)
        self.bot = Bot(
            CONSOLE_TOKEN,
            session=self.session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        self.user = User(id=user_id, is_bot=False, first_name="Console")

    async def say(self, text: str) -> None:
        """Send one line as the user and wait until the bot has answered."""
        update = self.session.incoming(self.user, text)
        try:
            await self.app.dispatcher.feed_update(self.bot, update, channel="console")
        except Exception as error:
            # What the bot could not even apologise for (Redis gone: a webhook refuses such an
            # update for Telegram to deliver again). The person here can only be told to retry.
            log.error("update %s failed with %s", update.update_id, type(error).__name__)
            with use_locale(self.app.i18n, self.app.settings.default_locale):
                await self.session.deliver(self.user.id, apology())

    async def run_script(self, script: str) -> None:
        """Say each line of a script in turn (blank lines and # comments are skipped)."""
        for line in script.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                self.write(f"› {line}")
                await self.say(line)

    async def interact(self) -> None:
        """Read lines from the terminal until end of input (Ctrl-D) or /quit."""
        while True:
            try:
                line = await asyncio.to_thread(input, "› ")
            except EOFError:
                break
            if line.strip() in ("/quit", "/exit"):
                break
            if line.strip():
                await self.say(line)
