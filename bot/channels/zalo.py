"""The Zalo channel: Zalo events become aiogram updates for the same handlers.

- Zalo ids are strings; aiogram's are integers. Each Zalo id maps to a stable 52-bit
  integer (a hash, so conversation state keyed by it survives restarts and is the same on
  every instance); groups get negative numbers, as on Telegram. The real Zalo user id goes
  along with each update as `channel_user_id`, so members are stored under their Zalo id
  and a sender can reach them later by it, with no map at all.
- The Zalo message id is the update's ledger id: an event Zalo delivers twice takes
  effect once (bot/exactly_once/transaction.py).
- Zalo has no buttons: inline keyboards are numbered options and a typed number presses
  the button (bot/channels/text_session.py). The options are kept in the dispatcher's
  storage too, so with Redis any instance understands the number.
- Texts and images are understood. An image becomes an aiogram photo whose file id stands
  for the image's URL on Zalo's CDN: getFile and the download fetch it from there, so the
  tip flow cleans and seals it as on Telegram. A sticker, voice or other event becomes a
  message without text, which the fallback answers politely in the user's language
  ("Bình Yên chưa hiểu ý bạn…"); so does an image anywhere but at the tip's photo step.
- A photo the bot sends goes by URL: one that is only bytes (the /stats chart, a tip's
  cleaned photo for the officers) is served from the webhook server for a few minutes
  (bot/channels/photo_links.py). Without a webhook the handler is told the photo cannot be
  shown (PhotoNotShown).
- An event that is not the documented shape (ids missing, `from` not an object…) is
  ignored and logged without its content.
- Joining a hamlet by deep link becomes a code the user types (`/join CODE`, issue 3).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import GetFile, SendChatAction, TelegramMethod
from aiogram.types import Chat, File, Message, PhotoSize, User
from aiohttp import web

from bot.app import App
from bot.channels.photo_links import PhotoLinks
from bot.channels.text_session import Menu, Option, TextChannelSession
from bot.webhook import add_zalo_route
from delivery.zalo_api import (
    POLL_SECONDS,
    ZaloBadRequest,
    ZaloClient,
    ZaloError,
    ZaloForbidden,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloUnauthorized,
)

log = logging.getLogger(__name__)

CHANNEL = "zalo"
TEXT_EVENT = "message.text.received"
IMAGE_EVENT = "message.image.received"
EVENTS = (TEXT_EVENT, IMAGE_EVENT, "message.sticker.received", "message.voice.received",
          "message.unsupported.received")
MENU_DESTINY = "zalo-menu"
ID_BITS = 52
# Updates handled at once while polling (each chat's in order), as for Telegram.
CONCURRENCY = 64
MAX_BACKOFF = 30.0
# The file id of an image a user sent: this prefix, then its URL in base64url.
PHOTO_FILE_PREFIX = "zalo-photo."
# As Telegram's getFile: a bot downloads files of up to 20 MB.
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_ID = 200
MAX_NAME = 128


def photo_file_id(url: str) -> str:
    """The aiogram file id of an image a user sent: it carries the image's URL, so any
    instance can fetch it, later (when the tip is sent) as well as now."""
    return PHOTO_FILE_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def photo_url(file_id: str) -> str | None:
    """The image URL a file id of photo_file_id stands for; None for any other id."""
    if not file_id.startswith(PHOTO_FILE_PREFIX):
        return None
    encoded = file_id.removeprefix(PHOTO_FILE_PREFIX)
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return url if url.startswith(("https://", "http://")) else None
# The chat whose update is being handled here: its options are saved once the update is done.
_handled_chat: ContextVar[int | None] = ContextVar("binhyen_zalo_chat", default=None)


def aiogram_id(zalo_id: str, group: bool = False) -> int:
    """The stable aiogram id of a Zalo id: 52 bits of its hash, negative for a group."""
    digest = hashlib.blake2b(zalo_id.encode(), digest_size=8).digest()
    number = (int.from_bytes(digest, "big") >> (64 - ID_BITS)) or 1
    return -number if group else number


class ZaloIds:
    """Aiogram ids back to the Zalo ids they stand for, as seen by this process."""

    def __init__(self) -> None:
        self._zalo: dict[int, str] = {}

    def remember(self, zalo_id: str, group: bool = False) -> int:
        """The aiogram id of `zalo_id`, remembered for sending back."""
        number = aiogram_id(zalo_id, group)
        known = self._zalo.setdefault(number, zalo_id)
        if known != zalo_id:  # 52 bits make this very unlikely; say so if it happens
            log.warning("two Zalo ids share one aiogram id; the newer one wins")
            self._zalo[number] = zalo_id
        return number

    def zalo_id(self, number: int) -> str:
        """The Zalo id behind an aiogram id; LookupError for one this process never saw."""
        try:
            return self._zalo[number]
        except KeyError:
            raise LookupError("no Zalo chat is known for this id in this process") from None


def _telegram_error(method: TelegramMethod[Any], error: ZaloError) -> TelegramAPIError:
    """The aiogram exception a handler would get on Telegram for the same failure."""
    message = str(error)
    if isinstance(error, ZaloRateLimited):
        return TelegramRetryAfter(method, message, math.ceil(error.retry_after or 1))
    kinds: list[tuple[type[ZaloError], type[TelegramAPIError]]] = [
        (ZaloForbidden, TelegramForbiddenError),
        (ZaloUnauthorized, TelegramUnauthorizedError),
        (ZaloBadRequest, TelegramBadRequest),
        (ZaloNetworkError, TelegramNetworkError),
    ]
    for zalo_kind, telegram_kind in kinds:
        if isinstance(error, zalo_kind):
            return telegram_kind(method, message)
    if error.code is None or error.code >= 500:
        return TelegramServerError(method, message)
    return TelegramAPIError(method, message)


class ZaloSession(TextChannelSession):
    """Delivers the bot's texts through the Zalo client; failures look like Telegram's."""

    def __init__(self, client: ZaloClient, ids: ZaloIds) -> None:
        super().__init__()
        self.client = client
        self.ids = ids
        self.changed_menus: set[int] = set()
        # Where photos that are only bytes are served from (set with the webhook).
        self.photo_links: PhotoLinks | None = None
        # Saves a chat's options at once when a send changed them outside its update (a copy
        # sent again in the background), so the next number typed there finds them.
        self.save_menu: Callable[[int], Awaitable[None]] | None = None

    async def deliver(self, chat_id: int, text: str) -> None:
        """Send a text (split in parts of 2,000 characters when longer)."""
        await self.client.send_text(self.ids.zalo_id(chat_id), text)

    async def deliver_photo(self, chat_id: int, photo: object, caption: str) -> bool:
        """Zalo sends photos by URL: a URL goes as it is, bytes (a chart) are served from
        the webhook server for a while; without one they cannot be shown (False)."""
        if isinstance(photo, str) and photo.startswith(("https://", "http://")):
            url = photo
        else:
            data = getattr(photo, "data", None)
            if self.photo_links is None or not isinstance(data, bytes):
                return False
            url = await self.photo_links.publish(data)
        await self.client.send_photo(self.ids.zalo_id(chat_id), url, caption)
        return True

    async def stream_content(self, url: str, *args: Any, chunk_size: int = 65536, **kwargs: Any) -> Any:
        """Download an image a user sent, from Zalo's CDN (its file id ends the URL)."""
        source = photo_url(url.rsplit("/", 1)[-1])
        if source is None:
            async for chunk in super().stream_content(url, *args, chunk_size=chunk_size, **kwargs):
                yield chunk
            return
        async for chunk in self.client.download(source, MAX_DOWNLOAD, chunk_size):
            yield chunk

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        """Carry out a Bot API call on Zalo; a string chat id is a Zalo id (a stored member's)."""
        chat_id = getattr(method, "chat_id", None)
        if isinstance(chat_id, str):
            method.chat_id = self.ids.remember(chat_id)
        try:
            if isinstance(method, SendChatAction):
                await self.client.send_chat_action(self.ids.zalo_id(int(method.chat_id)))
                return True
            if isinstance(method, GetFile) and photo_url(method.file_id) is not None:
                return File(file_id=method.file_id, file_unique_id=_unique_id(method.file_id),
                            file_path=method.file_id)
            return await super().make_request(bot, method, timeout)
        except ZaloError as error:
            raise _telegram_error(method, error) from None
        except LookupError as error:  # as Telegram answers for a chat it does not know
            raise TelegramBadRequest(method, f"chat not found: {error}") from None

    def _menu_changed(self, chat_id: int) -> None:
        self.changed_menus.add(chat_id)

    async def _send(self, bot: Bot, chat_id: int, text: str, markup: object,
                    message: Message | None = None) -> Message:
        sent = await super()._send(bot, chat_id, text, markup, message)
        if (chat_id in self.changed_menus and self.save_menu is not None
                and _handled_chat.get() != chat_id):
            # A send outside this chat's update (a copy sent again in the background).
            await self.save_menu(chat_id)
        return sent


def _unique_id(file_id: str) -> str:
    return hashlib.blake2b(file_id.encode(), digest_size=12).hexdigest()


class _ChatLocks:
    """One lock per chat while someone waits on it, so a chat's events keep their order."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat, (asyncio.Lock(), 0))
        self._locks[chat] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat]
            if users == 1:
                del self._locks[chat]
            else:
                self._locks[chat] = (lock, users - 1)


def unwrap(event: dict[str, Any]) -> dict[str, Any]:
    """The update inside a webhook body, which may come wrapped as {"ok": true, "result": …}."""
    result = event.get("result")
    if "message" not in event and isinstance(result, dict):
        return result
    return event


@dataclass(frozen=True)
class ZaloMessage:
    """A Zalo message event, checked against the documented shape."""

    event_name: str
    message_id: str
    user_id: str
    chat_id: str
    group: bool
    sender_name: str
    is_bot: bool
    text: str | None = None
    photo: str | None = None
    caption: str | None = None


def _zalo_id(value: object) -> str | None:
    """An id as Zalo gives them (a string; digits are taken too), or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value)
    return text if 0 < len(text) <= MAX_ID else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_event(event: dict[str, Any]) -> ZaloMessage | None:
    """The message of a Zalo event; None (logged, never with its content) when it has none or
    is not the documented shape."""
    name = event.get("event_name")
    known = name if name in EVENTS else "unknown"
    message = event.get("message")
    if not isinstance(message, dict):
        log.info("ignored a Zalo %s event without a message", known)
        return None
    sender, chat = message.get("from"), message.get("chat")
    if not isinstance(sender, dict) or not isinstance(chat, dict):
        log.warning("ignored a malformed Zalo %s event (its sender or chat is not an object)", known)
        return None
    message_id, user_id = _zalo_id(message.get("message_id")), _zalo_id(sender.get("id"))
    chat_id = _zalo_id(chat.get("id"))
    if not (message_id and user_id and chat_id):
        log.warning("ignored a Zalo %s event missing its ids", known)
        return None
    names = (sender.get(key) for key in ("display_name", "first_name", "name"))
    sender_name = next((n.strip() for n in names if isinstance(n, str) and n.strip()), "Zalo")
    photo = _string(message.get("photo")) or _string(message.get("photo_url"))
    return ZaloMessage(
        event_name=known,
        message_id=message_id,
        user_id=user_id,
        chat_id=chat_id,
        group=chat.get("chat_type") == "GROUP",
        sender_name=sender_name[:MAX_NAME],
        is_bot=sender.get("is_bot") is True,
        text=_string(message.get("text")) if known == TEXT_EVENT else None,
        photo=photo if known == IMAGE_EVENT and photo and photo.startswith(("https://", "http://")) else None,
        caption=_string(message.get("caption")) if known == IMAGE_EVENT else None,
    )


class ZaloChannel:
    """The Zalo bot: turns events into aiogram updates and feeds them to the dispatcher."""

    def __init__(self, app: App, client: ZaloClient) -> None:
        self.app = app
        self.client = client
        self.ids = ZaloIds()
        self.session = ZaloSession(client, self.ids)
        bot_id = int(client.bot_id) if client.bot_id.isdigit() else aiogram_id(client.bot_id)
        if bot_id >= 2**63:
            bot_id = aiogram_id(client.bot_id)
        # The aiogram bot never sees the real token: its own is only an id for FSM keys.
        self.bot = Bot(
            f"{bot_id}:zalo",
            session=self.session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        self._chats = _ChatLocks()
        self.session.save_menu = self._save_menu

    async def handle(self, event: dict[str, Any]) -> Any:
        """Handle one Zalo event through the dispatcher (a duplicate does nothing)."""
        message = parse_event(unwrap(event))
        if message is None:
            return None
        async with self._chats.hold(message.chat_id):
            user = User(id=self.ids.remember(message.user_id), is_bot=message.is_bot,
                        first_name=message.sender_name)
            number = self.ids.remember(message.chat_id, group=message.group)
            await self._load_menu(number)
            photo = None
            if message.photo is not None:
                file_id = photo_file_id(message.photo)
                photo = [PhotoSize(file_id=file_id, file_unique_id=_unique_id(file_id), width=0, height=0)]
            update = self.session.incoming(user, message.text, number, photo=photo, caption=message.caption)
            handled = _handled_chat.set(number)
            try:
                return await self.app.dispatcher.feed_update(
                    self.bot, update, channel=CHANNEL, channel_user_id=message.user_id,
                    channel_chat_id=message.chat_id, ledger_id=_ledger_id(message.message_id),
                )
            finally:
                _handled_chat.reset(handled)
                await self._save_menus()

    def _menu_key(self, chat: int) -> StorageKey:
        # Keyed by the Zalo chat, whatever its sign: a message sent by a stored id (the
        # officers' copy of a tip, to a routed group) cannot know the chat is a group, and
        # its options must still be found when someone in the group types a number.
        number = abs(chat)
        return StorageKey(bot_id=self.bot.id, chat_id=number, user_id=number, destiny=MENU_DESTINY)

    async def _load_menu(self, chat: int) -> None:
        """The chat's numbered options as stored: another instance may have shown them."""
        stored = await self.app.dispatcher.storage.get_data(self._menu_key(chat))
        if stored.get("message"):
            message = Message.model_validate(stored["message"])
            if message.chat.id != chat:  # shown through the stored id: answers go to this chat
                message = message.model_copy(update={"chat": Chat(
                    id=chat, type="private" if chat > 0 else "group")})
            options = [Option(**option) for option in stored.get("options", [])]
            self.session.menus[chat] = Menu(message.as_(self.bot), options)
        else:
            self.session.menus.pop(chat, None)

    async def _save_menus(self) -> None:
        while self.session.changed_menus:
            await self._save_menu(self.session.changed_menus.pop())

    async def _save_menu(self, chat: int) -> None:
        self.session.changed_menus.discard(chat)
        menu = self.session.menus.get(chat)
        data = {} if menu is None else {
            "message": menu.message.model_dump(mode="json", exclude_none=True),
            "options": [asdict(option) for option in menu.options],
        }
        await self.app.dispatcher.storage.set_data(self._menu_key(chat), data)

    async def _handle_logged(self, event: dict[str, Any]) -> None:
        try:
            await self.handle(event)
        except Exception as error:  # one broken update must not stop the polling
            log.error("a Zalo update failed with %s", type(error).__name__, exc_info=error)

    async def run_polling(self, stop: asyncio.Event, idle_pause: float = 1.0,
                          retry_pause: float = 1.0) -> None:
        """Poll getUpdates until `stop` is set; ZaloUnauthorized ends it (a wrong token).

        Any other failure, of getUpdates or of the calls before it (the API unreachable at
        start, a 502), is retried after `retry_pause` seconds, doubled each time up to 30.
        getUpdates hands each update out once: one that fails or is cut short by a crash
        is not delivered again (the user is asked to try again when handling fails)."""
        running: set[asyncio.Task[None]] = set()
        slots = asyncio.Semaphore(CONCURRENCY)
        backoff = retry_pause
        ready = False
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    if not ready:
                        ready = await _unless_stopped(stop, self._start_polling()) is not None
                        backoff = retry_pause
                        continue
                    events = await _unless_stopped(stop, self.client.get_updates(POLL_SECONDS))
                except ZaloUnauthorized:
                    raise
                except ZaloError as error:
                    call = "getUpdates" if ready else error.method
                    log.warning("Zalo %s failed: %s (%s)", call, type(error).__name__, error.code)
                    await _pause(stop, backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                if events is None:
                    break
                backoff = retry_pause
                if not events:
                    # A server that answers "nothing new" at once must not make us spin.
                    await _pause(stop, idle_pause - (time.monotonic() - started))
                for event in events:
                    await slots.acquire()
                    task = asyncio.create_task(self._handle_logged(event))
                    running.add(task)
                    task.add_done_callback(running.discard)
                    task.add_done_callback(lambda _: slots.release())
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _start_polling(self) -> bool:
        """Drop any webhook (getUpdates does not work while one is set) and say who we are."""
        await self.client.delete_webhook()
        me = await self.client.get_me()
        log.info("Zalo polling as %s", me.get("account_name") if isinstance(me, dict) else "?")
        return True

    async def close(self) -> None:
        """Close the Zalo client's HTTP session."""
        await self.client.close()

    def attach_webhook(self, web_app: web.Application, register: bool = True,
                       retry_pause: float = 1.0) -> None:
        """Answer Zalo's webhook on BINHYEN_ZALO_WEBHOOK_URL's path of `web_app`, and serve
        the photos the bot sends (Zalo fetches them by URL) below that path.

        The webhook is registered when the server starts: a token or URL Zalo refuses (401,
        400) stops it; any other failure is retried in the background, with the server up."""
        settings = self.app.settings
        add_zalo_route(web_app, self.handle, settings.zalo_webhook_path, settings.zalo_webhook_secret)
        self.session.photo_links = PhotoLinks(settings.zalo_webhook_url, self.app.redis)
        self.session.photo_links.add_route(web_app, settings.zalo_webhook_path)

        retrying: list[asyncio.Task[None]] = []

        async def set_webhook() -> None:
            await self.client.set_webhook(settings.zalo_webhook_url, settings.zalo_webhook_secret)
            log.info("Zalo webhook registered at %s", settings.zalo_webhook_path)

        async def keep_trying(first: ZaloError) -> None:
            error, backoff = first, retry_pause
            while True:
                log.warning("Zalo setWebhook failed: %s (%s); trying again", type(error).__name__, error.code)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                try:
                    await set_webhook()
                    return
                except (ZaloUnauthorized, ZaloBadRequest) as refused:
                    log.error("Zalo refused the webhook: %s (%s)", type(refused).__name__, refused.code)
                    return
                except ZaloError as failed:
                    error = failed

        async def register_webhook(_: web.Application) -> None:
            try:
                await set_webhook()
            except (ZaloUnauthorized, ZaloBadRequest):
                raise
            except ZaloError as error:
                retrying.append(asyncio.create_task(keep_trying(error)))

        async def stop_trying(_: web.Application) -> None:
            for task in retrying:
                task.cancel()
            await asyncio.gather(*retrying, return_exceptions=True)

        if register:
            web_app.on_startup.append(register_webhook)
            web_app.on_cleanup.append(stop_trying)


def zalo_channel(app: App) -> ZaloChannel:
    """The Zalo channel of BINHYEN_ZALO_TOKEN, talking to BINHYEN_ZALO_API_BASE."""
    return ZaloChannel(app, ZaloClient(app.settings.zalo_token, app.settings.zalo_api_base))


def _ledger_id(message_id: str) -> str:
    """The ledger's update id (64 characters at most) for a Zalo message id."""
    if len(message_id) <= 64:
        return message_id
    return hashlib.blake2b(message_id.encode(), digest_size=16).hexdigest()


async def _unless_stopped(stop: asyncio.Event, call: Any) -> Any:
    """The call's result, or None as soon as `stop` is set (the call is cancelled)."""
    work, stopped = asyncio.ensure_future(call), asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not work.done():
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        return None
    return work.result()


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less when `stop` is set meanwhile."""
    if seconds > 0:
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            pass
