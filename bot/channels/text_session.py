"""A Bot API session for channels without buttons or edits (Zalo, the console).

Handlers call the Bot API as on Telegram; this session turns each call into plain text
for the channel. An inline keyboard becomes numbered options under the text, and a number
typed back (or an option's label, typed out) becomes the button's callback, so no handler
asks which channel it is on.

The options stay valid, as buttons on Telegram do, while the user types something that
chooses none of them and leaves the conversation at its step: the bot's answer to it
without buttons of its own ("did not understand", "please choose") shows them again. They
are replaced by the next message with buttons, and dropped once the conversation moves on
without buttons: after a button pressed, a command typed, or a typed answer the step took.
"""

import itertools
import time
import unicodedata
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
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
    PhotoSize,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from aiogram.utils.i18n import gettext

from base.plain_text import plain_text
from db.text import N_

ACKNOWLEDGED = (DeleteMessage, DeleteWebhook, SendChatAction, SetMyCommands)
MENU_HINT = N_("👉 Gõ số để chọn:")
AMBIGUOUS_HINT = N_("👉 Nhiều lựa chọn khớp với chữ bạn gõ. Gõ số để chọn:")


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


@dataclass
class _Answering:
    """The chat whose typed text this task is answering, and what that text did to its options."""

    chat_id: int
    keeps_menu: bool  # the text chose no option and was no command: the options stay...
    ambiguous: bool = False  # it named several options: ask for the number
    reshown: bool = False
    # ...while the conversation stays at the step it was at (a typed answer a step takes,
    # a time say, moves it on, and its options with it).
    state: FSMContext | None = None
    step: str | None = None

    async def at_same_step(self) -> bool:
        """Whether the conversation is still at the step the text was typed at."""
        return self.state is None or await self.state.get_state() == self.step


# The update being handled, as `incoming` saw it; set around each update by
# AnsweringMiddleware, so that a message to another chat, or sent later, never counts as the
# answer to a text.
_answering: ContextVar[_Answering | None] = ContextVar("binhyen_text_answering", default=None)


class PhotoNotShown(TelegramBadRequest):
    """The channel cannot show this photo (Zalo without a public address to serve it from)."""


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


def _loose(text: str) -> str:
    """The words of a label without emoji, symbols or diacritics ("✅ Đồng ý" → "dong y")."""
    kept = []
    for char in unicodedata.normalize("NFD", text.casefold().replace("đ", "d")):
        kind = unicodedata.category(char)
        if kind.startswith("S") or kind in ("Mn", "Me", "Cf"):
            continue  # a symbol or emoji, a diacritic, a joiner or variation selector
        kept.append(char)
    return " ".join("".join(kept).split())


def _named(options: list[Option], choice: str) -> list[Option]:
    """The options whose label is `choice`: exactly (in any case), else loosely."""
    if not choice:
        return []
    exact = [option for option in options if _comparable(option.label) == _comparable(choice)]
    if exact:
        return exact
    typed = _loose(choice)
    return [option for option in options if typed and _loose(option.label) == typed]


def chosen_option(options: list[Option], typed: str | None) -> Option | None:
    """The option a typed reply chooses: its number, or its label typed out when no other
    option has that label (the "B" of a quiz, whose text lists A, B, C). A label matches in
    any case, and without its emoji or diacritics ("dong y" for "✅ Đồng ý")."""
    choice = (typed or "").strip()
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses (as it refuses
    # more than 4,300 digits).
    if choice.isascii() and choice.isdigit() and len(choice) <= 4:
        return options[int(choice) - 1] if 1 <= int(choice) <= len(options) else None
    named = _named(options, choice)
    return named[0] if len(named) == 1 else None


def _translated(text: str) -> str:
    try:
        return gettext(text)
    except LookupError:  # outside an update there is no language context
        return text


def render_menu(options: list[Option], links: list[str], ambiguous: bool = False) -> str:
    """How to choose, then the options as numbered lines, then the links.

    The hint comes first so the options stand apart from a text that has numbered lines of
    its own (the pledge's commitments, say). `ambiguous`: the user typed a label that
    several options share, so the hint asks for the number."""
    lines = []
    if options and ambiguous:
        lines.append(_translated(AMBIGUOUS_HINT))
    elif options:
        lines.append(_translated(MENU_HINT))
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
        # What each update made by `incoming` did to its chat's options, until it is handled.
        self._pending: dict[int, _Answering] = {}
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

    async def deliver_photo(self, chat_id: int, photo: object, caption: str) -> bool:
        """Send a photo with its caption; False when this channel cannot show it (the
        handler is told with PhotoNotShown and says what to do instead)."""
        return False

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
            if not await self.deliver_photo(int(method.chat_id), method.photo, caption):
                raise PhotoNotShown(method, "this channel cannot show the photo")
            return self._message(bot, int(method.chat_id), caption, None)
        if isinstance(method, EditMessageReplyMarkup):
            menu = self.menus.get(int(method.chat_id or 0))
            if menu is None or method.message_id not in (None, menu.message.message_id):
                return True  # an older message: the numbers belong to the latest one
            if menu_options(method.reply_markup) in (None, ([], [])):
                # The buttons were taken off their message: their numbers go with them.
                del self.menus[menu.message.chat.id]
                self._menu_changed(menu.message.chat.id)
                return True
            return await self._send(bot, menu.message.chat.id, "", method.reply_markup, menu.message)
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
        kept = self.menus.get(chat_id)
        answering = _answering.get()
        if menu is not None:
            options, links = menu
            self.menus[chat_id] = Menu(message, options)
            self._menu_changed(chat_id)
            body = "\n\n".join(part for part in (text, render_menu(options, links)) if part)
        elif kept is not None and answering is not None and answering.chat_id == chat_id \
                and answering.keeps_menu and await answering.at_same_step():
            # The answer to a text that chose nothing and did not move the conversation on
            # ("did not understand", "please choose"): the options still stand, shown
            # again under the first such answer.
            if not answering.reshown:
                answering.reshown = True
                body = "\n\n".join(part for part in (
                    text, render_menu(kept.options, [], answering.ambiguous)) if part)
        elif kept is not None:
            # The conversation moved on without buttons: old numbers no longer mean anything.
            del self.menus[chat_id]
            self._menu_changed(chat_id)
        if body:
            await self.deliver(chat_id, body)
        return message

    def _menu_changed(self, chat_id: int) -> None:
        """The chat's options were replaced or dropped (a channel may store them)."""

    def answering(self, update: Update) -> _Answering | None:
        """What `update`, if `incoming` made it, did to its chat's options (asked once)."""
        return self._pending.pop(update.update_id, None)

    def _message(self, bot: Bot, chat_id: int, text: str, markup: object) -> Message:
        return Message(
            message_id=next(self._message_ids),
            date=datetime.now(timezone.utc),
            chat=Chat(id=chat_id, type="private" if chat_id > 0 else "group"),
            text=text,
            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
        ).as_(bot)

    def incoming(self, user: User, text: str | None, chat_id: int | None = None,
                 photo: list[PhotoSize] | None = None, caption: str | None = None) -> Update:
        """The update a user's typed text means: a button press when it names a listed option.

        None is a message without text (a sticker, say, or a `photo` with its `caption`),
        which the handler of the step or the fallback answers.
        Feed it with `Dispatcher.feed_update(bot, update)`, which mounts it on the bot."""
        chat_id = user.id if chat_id is None else chat_id
        update_id = next(self._update_ids)
        menu = self.menus.get(chat_id)
        choice = (text or "").strip()
        option = chosen_option(menu.options, text) if menu is not None else None
        command = choice.startswith("/")
        if len(self._pending) >= 10_000:  # made but never handled: forget the oldest
            del self._pending[next(iter(self._pending))]
        self._pending[update_id] = _Answering(
            chat_id, keeps_menu=option is None and not command,
            ambiguous=menu is not None and option is None and not command
            and len(_named(menu.options, choice)) > 1,
        )
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
            text=text if photo is None else None,
            photo=photo,
            caption=caption if photo is not None else None,
        )
        return Update(update_id=update_id, message=message)


class AnsweringMiddleware(BaseMiddleware):
    """Tells a text channel's session, for the time of one update, which typed text it answers:
    the messages sent meanwhile to that chat are the answer (see TextChannelSession._send)."""

    async def __call__(self, handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
                       event: Any, data: dict[str, Any]) -> Any:
        session = getattr(data.get("bot"), "session", None)
        answering = session.answering(event) if isinstance(session, TextChannelSession) else None
        state = data.get("state")
        if answering is not None and isinstance(state, FSMContext):
            answering.state, answering.step = state, await state.get_state()
        token = _answering.set(answering)
        try:
            return await handler(event, data)
        finally:
            _answering.reset(token)
