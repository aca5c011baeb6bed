"""A Bot API session for channels without buttons or edits (Zalo, the console).

Handlers call the Bot API as on Telegram; this session turns each call into plain text
for the channel. An inline keyboard becomes numbered options under the text, and a number
typed back (or an option's label, typed out) becomes the button's callback, so no handler
asks which channel it is on.
"""

import itertools
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteWebhook,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendChatAction,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    File,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from aiogram.utils.i18n import gettext

ACKNOWLEDGED = (DeleteMessage, DeleteWebhook, SendChatAction, SetMyCommands)


@dataclass
class Option:
    """One numbered choice: a button's callback data, or a text to send as the user."""

    label: str
    callback_data: str | None = None
    text: str | None = None


@dataclass
class Menu:
    """The options under the latest message of a chat, and that message (buttons belong to it)."""

    message: Message
    options: list[Option] = field(default_factory=list)


class _TextOnly(HTMLParser):
    """Strips Telegram HTML to plain text; a link keeps its address."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append(dict(attrs).get("href") or "")
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href = self._links.pop()
            if href and not "".join(self.parts).endswith(href):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text a user of a text-only channel should read.

    Entities are decoded once, by the parser: a user's own "&amp;" or "&region=" (in a link's
    query, say) must reach them as they typed it, as on Telegram."""
    if parse_mode != "HTML":
        return text
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def menu_options(markup: object) -> tuple[list[Option], list[str]] | None:
    """Numbered options and link lines of a keyboard; None when the markup changes nothing."""
    if isinstance(markup, InlineKeyboardMarkup):
        options, links = [], []
        for button in itertools.chain.from_iterable(markup.inline_keyboard):
            if button.callback_data is not None:
                options.append(Option(button.text, callback_data=button.callback_data))
            elif button.url:
                links.append(f"{button.text}: {button.url}")
        return options, links
    if isinstance(markup, ReplyKeyboardMarkup):
        buttons = itertools.chain.from_iterable(markup.keyboard)
        return [Option(button.text, text=button.text) for button in buttons], []
    if isinstance(markup, ReplyKeyboardRemove):
        return [], []
    return None


def _comparable(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def chosen_option(options: list[Option], typed: str | None) -> Option | None:
    """The option a typed reply chooses: its number, or its label typed out in any case when
    no other option has that label (the "B" of a quiz, whose text lists A, B, C)."""
    choice = (typed or "").strip()
    if choice.isdigit():
        return options[int(choice) - 1] if 1 <= int(choice) <= len(options) else None
    named = [option for option in options if choice and _comparable(option.label) == _comparable(choice)]
    return named[0] if len(named) == 1 else None


def render_menu(options: list[Option], links: list[str]) -> str:
    """How to choose, then the options as numbered lines, then the links.

    The hint comes first so the options stand apart from a text that has numbered lines of
    its own (the pledge's commitments, say)."""
    lines = []
    if options:
        try:
            lines.append(gettext("👉 Gõ số để chọn:"))
        except LookupError:  # outside an update there is no language context
            lines.append("👉 Gõ số để chọn:")
    lines += [f"{number}. {option.label}" for number, option in enumerate(options, start=1)]
    return "\n".join(lines + links)


class TextChannelSession(BaseSession):
    """Turns Bot API calls into texts for a channel; subclasses say how a text is delivered."""

    def __init__(self) -> None:
        super().__init__()
        self.menus: dict[int, Menu] = {}
        self._message_ids = itertools.count(1)
        # Update ids must not repeat across runs (the ledger remembers them): start at "now".
        self._update_ids = itertools.count(time.time_ns() // 1000)
        self._callback_chats: dict[str, int] = {}
        # Files users sent on this channel, by file id, for getFile and downloads.
        self.files: dict[str, bytes] = {}

    def remember_callback(self, query_id: str, chat_id: int) -> None:
        """Where the answer to a button press goes (only the recent presses are kept)."""
        if len(self._callback_chats) >= 10_000:
            del self._callback_chats[next(iter(self._callback_chats))]
        self._callback_chats[query_id] = chat_id

    async def deliver(self, chat_id: int, text: str) -> None:
        """Send a text to a chat of this channel."""
        raise NotImplementedError

    async def deliver_photo(self, chat_id: int, photo: object, caption: str) -> None:
        """Send a photo; channels that cannot send photos say so in text."""
        await self.deliver(chat_id, f"[{gettext('ảnh')}] {caption}".strip())

    async def close(self) -> None:
        """Nothing to close for a text channel by default."""

    async def stream_content(self, url: str, *args: Any, chunk_size: int = 65536, **kwargs: Any) -> Any:
        """Stream a file a user sent (its file id ends the download URL)."""
        data = self.files[url.rsplit("/", 1)[-1]]
        for start in range(0, len(data), chunk_size):
            yield data[start:start + chunk_size]

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        """Carry out one Bot API call on this channel."""
        if isinstance(method, (SendMessage, EditMessageText)):
            chat_id = method.chat_id
            if chat_id is None:
                raise TelegramBadRequest(method, "inline messages are not supported")
            text = plain_text(method.text, self._parse_mode(bot, method.parse_mode))
            return await self._send(bot, int(chat_id), text, method.reply_markup)
        if isinstance(method, SendPhoto):
            caption = plain_text(method.caption or "", self._parse_mode(bot, method.parse_mode))
            await self.deliver_photo(int(method.chat_id), method.photo, caption)
            return self._message(bot, int(method.chat_id), caption, None)
        if isinstance(method, EditMessageReplyMarkup):
            menu = self.menus.get(int(method.chat_id or 0))
            if menu is not None:
                return await self._send(bot, menu.message.chat.id, "", method.reply_markup, menu.message)
            return True
        if isinstance(method, AnswerCallbackQuery):
            # A query may be answered twice (an empty answer, then an apology when it failed).
            chat_id = self._callback_chats.get(method.callback_query_id)
            if method.text and chat_id is not None:
                await self.deliver(chat_id, method.text)
            return True
        if isinstance(method, GetFile) and method.file_id in self.files:
            size = len(self.files[method.file_id])
            return File(file_id=method.file_id, file_unique_id=method.file_id,
                        file_size=size, file_path=method.file_id)
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="Bình Yên")
        if isinstance(method, ACKNOWLEDGED):
            return True
        raise TelegramBadRequest(method, f"{type(method).__name__} is not supported on this channel")

    @staticmethod
    def _parse_mode(bot: Bot, parse_mode: object) -> str | None:
        if isinstance(parse_mode, Default):
            return bot.default[parse_mode.name]
        return parse_mode  # type: ignore[return-value]

    async def _send(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        markup: object,
        message: Message | None = None,
    ) -> Message:
        menu = menu_options(markup)
        message = message or self._message(bot, chat_id, text, markup)
        body = text
        if menu is not None:
            options, links = menu
            self.menus[chat_id] = Menu(message, options)
            body = "\n\n".join(part for part in (text, render_menu(options, links)) if part)
        elif chat_id in self.menus:
            # A new message without buttons: old numbers no longer mean anything.
            del self.menus[chat_id]
        if body:
            await self.deliver(chat_id, body)
        return message

    def _message(self, bot: Bot, chat_id: int, text: str, markup: object) -> Message:
        return Message(
            message_id=next(self._message_ids),
            date=datetime.now(timezone.utc),
            chat=Chat(id=chat_id, type="private" if chat_id > 0 else "group"),
            text=text,
            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
        ).as_(bot)

    def incoming(self, user: User, text: str | None, chat_id: int | None = None) -> Update:
        """The update a user's typed text means: a button press when it names a listed option.

        None is a message without text (a sticker, say), which the fallback answers.
        Feed it with `Dispatcher.feed_update(bot, update)`, which mounts it on the bot."""
        chat_id = user.id if chat_id is None else chat_id
        update_id = next(self._update_ids)
        menu = self.menus.get(chat_id)
        option = chosen_option(menu.options, text) if menu is not None else None
        if option is not None:
            if option.callback_data is not None:
                query_id = str(update_id)
                self.remember_callback(query_id, chat_id)
                query = CallbackQuery(
                    id=query_id,
                    from_user=user,
                    chat_instance=str(chat_id),
                    message=menu.message,
                    data=option.callback_data,
                )
                return Update(update_id=update_id, callback_query=query)
            text = option.text or text
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(timezone.utc),
            chat=Chat(id=chat_id, type="private" if chat_id > 0 else "group"),
            from_user=user,
            text=text,
        )
        return Update(update_id=update_id, message=message)
