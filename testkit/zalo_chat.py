"""A chat driver over the real Zalo transport: users write to the bot through the webhook (HTTP,
with the secret header) or through long polling, against the fake Zalo Bot API on 127.0.0.1.

`send` returns once the update is handled and its replies sent, with the texts the chat
received; `choose` reads the numbered options of the chat's latest message and types the number
of one, as a Zalo user does. No sleeps: the channel signals each handled event (the webhook
answers once the update is committed, before its replies go out). In a group, Zalo delivers
only replies to the bot and @mentions of it (FakeZalo.group_event): `send` says which.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import pytest

from base.settings import Settings, load_settings
from bot.app import App
from bot.channels.zalo import ZaloChannel, zalo_channel
from bot.webhook import web_application
from testkit.fake_zalo import ZALO_TOKEN, FakeZalo, image_event, listen_locally, text_event

LAN = "e4ea2cd5189df1c3a88c"  # a resident's Zalo user id, as the API gives them
PUBLIC_BASE = "https://bot.example.vn"
WEBHOOK_URL = f"{PUBLIC_BASE}/zalo/hook-7f3a"
SECRET = "zalo-webhook_secret-42"
MENU_HINT = "👉 Gõ số để chọn:"
_OPTION = re.compile(r"^(\d+)\. (.*)$")


def zalo_settings(database_url: str, api: FakeZalo, **more) -> Settings:
    """Test settings with a Zalo bot on the fake server, its webhook and secret."""
    values = dict(
        database_url=database_url, telegram_token=None, webhook_url=None, redis_url=None,
        default_locale="vi", timezone="Asia/Ho_Chi_Minh", zalo_token=ZALO_TOKEN,
        zalo_api_base=api.base, zalo_webhook_url=WEBHOOK_URL, zalo_webhook_secret=SECRET,
    )
    return load_settings(**{**values, **more})


def options(text: str) -> dict[str, int]:
    """The numbered options under a text (label → number); {} when it offers none."""
    _, hint, menu = text.rpartition(MENU_HINT)
    if not hint:
        return {}
    found = {}
    for line in menu.splitlines():
        match = _OPTION.match(line.strip())
        if match:
            found[match.group(2)] = int(match.group(1))
    return found


class ZaloChat:
    """Zalo users talking to the whole bot over one transport ("webhook" or "polling")."""

    def __init__(self, app: App, api: FakeZalo, transport: str) -> None:
        self.app, self.api, self.transport = app, api, transport
        self.channel: ZaloChannel = zalo_channel(app)
        self.url = ""
        self._runner = None
        self._stop = asyncio.Event()
        self._polling: asyncio.Task | None = None
        self._handled: dict[str, asyncio.Event] = {}
        self.names: dict[str, str] = {}  # display names by Zalo id ("Chị Lan" otherwise)

    async def start(self) -> "ZaloChat":
        handle = self.channel.handle

        async def handled(event: dict, *args: object) -> object:
            try:
                return await handle(event, *args)
            finally:
                self._handled.setdefault(event["message"]["message_id"], asyncio.Event()).set()

        self.channel.handle = handled  # the webhook and the polling loop call it for each event
        if self.transport == "webhook":
            web_app = web_application(self.app)
            self.channel.attach_webhook(web_app)  # registers the webhook with the fake at start
            self._runner, port = await listen_locally(web_app)
            self.url = f"http://127.0.0.1:{port}{self.app.settings.zalo_webhook_path}"
            # Zalo fetches the photos the bot sends from its public address: this server.
            self.api.public_bases[PUBLIC_BASE] = f"http://127.0.0.1:{port}"
        else:
            # Long polls end with 408 "nothing new" within a moment, as Zalo's do after their
            # timeout: every polling flow starts after one and runs through more of them.
            self.api.max_wait = 0.05
            self.api.timed_out.clear()
            self._polling = asyncio.create_task(self.channel.run_polling(self._stop, idle_pause=0))
            await asyncio.wait_for(self.api.timed_out.wait(), 10)
        return self

    async def close(self) -> None:
        if self._polling is not None:
            self._stop.set()
            await asyncio.wait_for(self._polling, 10)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.channel.close()

    async def deliver(self, event: dict | None) -> None:
        """Hand one event to the bot as Zalo would (None: Zalo keeps it from the bot), and wait
        until it is handled and its replies sent."""
        if event is None:
            return
        done = self._handled.setdefault(event["message"]["message_id"], asyncio.Event())
        if self.transport == "webhook":
            status = await self.api.post_webhook(self.url, event, SECRET)
            assert status == 200, status
        else:
            self.api.push(event)
        await asyncio.wait_for(done.wait(), 10)

    async def send(self, text: str, user: str = LAN, chat: str | None = None,
                   chat_type: str = "PRIVATE", replying: bool = True, mentioning: bool = False
                   ) -> list[str]:
        """`user` types `text` in their chat with the bot (or in group `chat`: as a reply to
        the bot's latest message there, or after an @mention of the bot, or neither); the texts
        that chat received in answer."""
        where = chat or user
        before = len(self.api.texts_to(where))
        name = self.names.get(user, "Chị Lan")
        if chat_type == "GROUP":
            event = self.api.group_event(text, user=user, group=chat, name=name,
                                         replying=replying and not mentioning, mentioning=mentioning)
        else:
            event = text_event(text, user=user, chat=chat, chat_type=chat_type, name=name)
        await self.deliver(event)
        return self.api.texts_to(where)[before:]

    async def send_image(self, data: bytes, caption: str | None = None, user: str = LAN) -> list[str]:
        """`user` sends an image (put on the fake CDN first) to the bot; the texts they received."""
        before = len(self.api.texts_to(user))
        url = self.api.image_url(f"{len(self.api.images) + 1}.jpg", data)
        await self.deliver(image_event(url, caption, user=user, name=self.names.get(user, "Chị Lan")))
        return self.api.texts_to(user)[before:]

    def menu(self, chat: str = LAN) -> dict[str, int]:
        """The numbered options of the latest text the chat received that offered some."""
        for text in reversed(self.api.texts_to(chat)):
            found = options(text)
            if found:
                return found
        return {}

    async def choose(self, label: str, user: str = LAN, chat: str | None = None,
                     chat_type: str = "PRIVATE", mentioning: bool = False) -> list[str]:
        """Type the number of the option whose label starts with `label` (asserting there is
        one); in a group as a reply to the bot's message, or after an @mention."""
        offered = self.menu(chat or user)
        numbers = [number for text, number in offered.items() if text.startswith(label)]
        assert len(numbers) == 1, f"no single option {label!r} in {list(offered)}"
        return await self.send(str(numbers[0]), user, chat, chat_type, mentioning=mentioning)


@pytest.fixture
def settings(database_url: str, zalo_api: FakeZalo) -> Settings:
    """The test settings with the Zalo bot on the fake server (the dispatcher sees them too)."""
    return zalo_settings(database_url, zalo_api)


@contextlib.asynccontextmanager
async def talking(app: App, api: FakeZalo, transport: str) -> AsyncIterator[ZaloChat]:
    """Zalo users talking to the bot over `transport` until the block ends."""
    chat = await ZaloChat(app, api, transport).start()
    try:
        yield chat
    finally:
        await chat.close()


@pytest.fixture
async def zalo(app: App, zalo_api: FakeZalo) -> AsyncIterator[ZaloChat]:
    """Zalo users talking to the bot through its webhook."""
    async with talking(app, zalo_api, "webhook") as chat:
        yield chat


@pytest.fixture
async def zalo_polling(app: App, zalo_api: FakeZalo) -> AsyncIterator[ZaloChat]:
    """Zalo users talking to the bot through long polling."""
    async with talking(app, zalo_api, "polling") as chat:
        yield chat


@pytest.fixture(params=["webhook", "polling"])
async def zalo_each_way(request, app: App, zalo_api: FakeZalo) -> AsyncIterator[ZaloChat]:
    """Zalo users talking to the bot through the webhook, then (another run) long polling."""
    async with talking(app, zalo_api, request.param) as chat:
        yield chat
