"""Test doubles: a recording Bot API session and a chat driver over the real dispatcher."""

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, Chat, Document, Location, Message, PhotoSize, Update, User

from bot.app import App
from bot.channels.text_session import TextChannelSession

TEST_TOKEN = "123456:TEST-token-for-the-recording-session"


@dataclass
class Sent:
    """One text the bot delivered, as a text-only channel shows it."""

    chat_id: int
    text: str


class RecordingSession(TextChannelSession):
    """Records every Bot API call (raw) and every delivered text (rendered).

    It answers only the methods the text channels support, so a handler that would break
    on Zalo or the console breaks here too. A photo is shown as "[photo] caption", as the
    console and Zalo with a webhook show one (tests/channels/test_zalo_photos.py: Zalo without one).
    """

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.sent: list[Sent] = []

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.requests.append(method)
        return await super().make_request(bot, method, timeout)

    async def deliver(self, chat_id: int, text: str) -> None:
        self.sent.append(Sent(chat_id, text))

    async def deliver_photo(self, chat_id: int, photo: object, caption: str) -> bool:
        self.sent.append(Sent(chat_id, f"[photo] {caption}".strip()))
        return True


@dataclass
class ChatDriver:
    """Talks to the full bot as chat users on one channel, through `Dispatcher.feed_update`."""

    app: App
    channel: str = "telegram"
    session: RecordingSession = field(default_factory=RecordingSession)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.bot = Bot(
            TEST_TOKEN,
            session=self.session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )

    @staticmethod
    def user(user_id: int) -> User:
        return User(id=user_id, is_bot=False, first_name=f"User {user_id}")

    async def feed(self, update: Update, **data: Any) -> Any:
        """Feed one update and return the dispatcher's result."""
        return await self.app.dispatcher.feed_update(self.bot, update, channel=self.channel, **data)

    async def send(self, text: str, user_id: int = 1001, chat_id: int | None = None) -> list[str]:
        """The user types `text` (a listed number presses that option); returns the bot's new texts."""
        before = len(self.session.sent)
        await self.feed(self.session.incoming(self.user(user_id), text, chat_id))
        return [sent.text for sent in self.session.sent[before:]]

    def message(self, text: str, user_id: int = 1001, chat_id: int | None = None,
                chat_type: str = "private", update_id: int | None = None) -> Update:
        """A plain message update with a chosen update id (for redelivery tests)."""
        chat_id = user_id if chat_id is None else chat_id
        return Update(
            update_id=update_id or next(self._ids),
            message=Message(
                message_id=next(self._ids),
                date=0,
                chat=Chat(id=chat_id, type=chat_type),
                from_user=self.user(user_id),
                text=text,
            ),
        )

    async def send_media(self, user_id: int = 1001, *, photo: bytes | None = None,
                         document: bytes | None = None, mime_type: str = "image/jpeg",
                         location: tuple[float, float] | None = None) -> list[str]:
        """The user sends a photo, a file or a location; the bot can download the bytes."""
        extra: dict[str, Any] = {}
        file_id = f"file{next(self._ids)}"
        if photo is not None:
            self.session.files[file_id] = photo
            extra["photo"] = [PhotoSize(file_id=file_id, file_unique_id=file_id, width=64, height=48,
                                        file_size=len(photo))]
        if document is not None:
            self.session.files[file_id] = document
            extra["document"] = Document(file_id=file_id, file_unique_id=file_id, mime_type=mime_type,
                                         file_size=len(document))
        if location is not None:
            extra["location"] = Location(latitude=location[0], longitude=location[1])
        update = Update(update_id=next(self._ids), message=Message(
            message_id=next(self._ids), date=0, chat=Chat(id=user_id, type="private"),
            from_user=self.user(user_id), **extra,
        ))
        before = len(self.session.sent)
        await self.feed(update)
        return [sent.text for sent in self.session.sent[before:]]

    async def press(self, data: str, user_id: int = 1001, chat_id: int | None = None,
                    forged: bool = False) -> list[str]:
        """Press the button with this callback data on the latest keyboard of the chat
        (the user's own chat unless `chat_id` names a group).

        `forged=True` sends the callback data even though no keyboard offered it, as a
        modified client could."""
        chat = user_id if chat_id is None else chat_id
        if forged:
            message = Message(message_id=next(self._ids), date=0, text="…",
                              chat=Chat(id=chat, type="private" if chat > 0 else "group"))
        else:
            menu = self.session.menus[chat]
            assert any(option.callback_data == data for option in menu.options), (
                f"no button {data!r} in {[o.callback_data for o in menu.options]}"
            )
            message = menu.message
        before = len(self.session.sent)
        query_id = f"q{next(self._ids)}"
        self.session.remember_callback(query_id, message.chat.id)
        update = Update(
            update_id=next(self._ids),
            callback_query=CallbackQuery(
                id=query_id, from_user=self.user(user_id), chat_instance="test",
                message=message, data=data,
            ),
        )
        await self.feed(update)
        return [sent.text for sent in self.session.sent[before:]]

    def buttons(self, user_id: int = 1001) -> list[str]:
        """Callback data of the options under the user's latest message."""
        menu = self.session.menus.get(user_id)
        return [option.callback_data for option in menu.options] if menu else []


async def fetch(session, statement):
    """The first value of `statement` as committed now.

    The session's transaction is ended before and after, so the test never holds an old SQLite
    snapshot: a test session that later writes from a stale snapshot would fail with
    "database is locked" (the bot committed in between)."""
    await session.rollback()
    # Objects loaded before must show what the bot committed since.
    value = await session.scalar(statement.execution_options(populate_existing=True))
    await session.commit()
    return value


async def count(session, model, *where) -> int:
    """Rows of `model` as committed now."""
    from sqlalchemy import func, select

    return await fetch(session, select(func.count()).select_from(model).where(*where))
