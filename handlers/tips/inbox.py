"""The officers' inbox: copies in the commune's group, status buttons, /reply and /tips.

Only officers and admins whose scope covers the tip's area may change or answer it. Replies
are not pushed to the tipster: they wait for the tipster's next /tipstatus.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS, requires
from base.labels import render_problem
from base.settings import Settings
from base.tip_labels import STATUS_ACTIONS, kind_label, local_date, status_label
from db.models import Member, Tip
from db.services.members import OFFICER_ROLES
from db.services.tip_sealing import TipKeys
from db.services.tips import (
    OFFICER_STATUSES,
    add_reply,
    change_status,
    open_tips,
    parse_reference,
    route_for,
    tip_by_id_for_officer,
    tip_for_officer,
)
from db.text import Problem
from handlers.common.callbacks import Id, Word
from handlers.common.keyboards import button

log = logging.getLogger(__name__)

MAX_LISTED = 30
# A copy the group's channel refused for a moment is tried again after these pauses (or the
# retry_after it asked for, up to MAX_COPY_WAIT seconds), then given up.
COPY_RETRY_PAUSES = (2, 10, 60, 300)
MAX_COPY_WAIT = 600
_retrying: set[asyncio.Task] = set()


class Triage(CallbackData, prefix="tipo"):
    """An officer's status button under a group copy."""

    tip: Id
    status: Word


def triage_keyboard(tip: Tip) -> InlineKeyboardMarkup:
    """The status buttons under a tip's group copy."""
    return InlineKeyboardMarkup(inline_keyboard=[[
        button(str(STATUS_ACTIONS[status]), Triage(tip=tip.id, status=status))
        for status in OFFICER_STATUSES
    ]])


async def send_to_officers(
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    channel: str,
    tip: Tip,
    render: Callable[[], tuple[list[str], InlineKeyboardMarkup | None]],
    after_commit: AfterCommit,
    photos: list[bytes] = (),
) -> None:
    """Send what `render` writes (in the deployment's language) to the tip's officers' group,
    once the tip is committed: a group never sees a tip that was not stored.

    It goes to the group of the tip's area or the nearest area above it on this channel."""
    route = await route_for(session, tip.area, channel)
    if route is None:
        return
    with i18n.use_locale(settings.default_locale):
        messages, keyboard = render()
    # The chat id goes as stored: every channel's session takes its own ids as text (a Zalo
    # id may be all digits, and would not survive a trip through int).
    after_commit.call(_copy_to_group, bot, route.chat_id, tip.reference_in(settings.tz), messages,
                      keyboard, photos)


async def _copy_to_group(bot: Bot, chat_id: str, reference: str, messages: list[str],
                         keyboard: InlineKeyboardMarkup | None, photos: list[bytes]) -> None:
    """The copy itself. What the group's channel refuses for a moment (429, a network error)
    is tried again in the background, from memory: its text is never stored in plain. The tip
    is stored and listed anyway."""
    sends = [partial(bot.send_message, chat_id, text, reply_markup=keyboard if number == 0 else None)
             for number, text in enumerate(messages)]
    sends += [partial(bot.send_photo, chat_id, BufferedInputFile(photo, "photo.jpg"), caption=reference)
              for photo in photos]
    left, wait = await _send_in_order(reference, sends)
    if left:
        task = asyncio.create_task(_retry_copy(reference, left, wait))
        _retrying.add(task)
        task.add_done_callback(_retrying.discard)


async def _send_in_order(reference: str, sends: list[Callable[[], Awaitable[object]]]
                         ) -> tuple[list[Callable[[], Awaitable[object]]], float | None]:
    """Make the sends until one fails: those left to try again (from the failed one) and the
    wait the channel asked for."""
    for number, send in enumerate(sends):
        try:
            await send()
        except (TelegramForbiddenError, TelegramBadRequest) as error:  # no retry can help
            log.error("the officers' group refused the copy of %s: %s", reference, type(error).__name__)
            return [], None
        except TelegramRetryAfter as error:
            log.warning("the copy of %s waits %s s for the officers' group", reference, error.retry_after)
            return sends[number:], error.retry_after
        except Exception as error:
            log.warning("could not reach the officers' group of %s: %s", reference, type(error).__name__)
            return sends[number:], None
    return [], None


async def _retry_copy(reference: str, sends: list[Callable[[], Awaitable[object]]],
                      wait: float | None) -> None:
    for pause in COPY_RETRY_PAUSES:
        await asyncio.sleep(min(MAX_COPY_WAIT, wait if wait is not None else pause))
        sends, wait = await _send_in_order(reference, sends)
        if not sends:
            return
    log.error("gave up the copy of %s to the officers' group; the tip is listed by /tips", reference)


async def copies_sent() -> None:
    """Wait until the copies being tried again are sent or given up (tests use it)."""
    while _retrying:
        await asyncio.gather(*_retrying, return_exceptions=True)


async def triage(
    callback: CallbackQuery, callback_data: Triage, session: AsyncSession, member: Member,
    settings: Settings, after_commit: AfterCommit,
) -> None:
    """Change a tip's status, if the officer's scope covers it, and say so in the chat."""
    try:
        tip = await tip_by_id_for_officer(session, member, callback_data.tip)
        await change_status(session, member, tip, callback_data.status)
    except Problem as problem:
        await callback.answer(render_problem(problem), show_alert=True)
        return
    status = status_label(tip.status)
    await callback.answer()
    after_commit.call(callback.message.answer, _("{reference}: chuyển sang “{status}” ({officer}).").format(
        reference=tip.reference_in(settings.tz), status=status,
        officer=hd.quote(callback.from_user.full_name)))


async def reply(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    tip_keys: TipKeys | None,
    after_commit: AfterCommit,
) -> None:
    """/reply T-2026-000123 text: keep an answer for the tipster's next status check."""
    if tip_keys is None:
        await message.answer(_("Chức năng tin báo chưa được bật ở đây (chưa có khóa mã hóa)."))
        return
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) < 2 or parse_reference(parts[0]) is None:
        await message.answer(_("Cách dùng: /reply T-2026-000123 nội dung trả lời."))
        return
    reference, text = parts
    tip = await tip_for_officer(session, member, reference, settings.tz)
    await add_reply(session, tip_keys, member, tip, text)
    after_commit.call(message.answer, _("Đã lưu trả lời cho {reference}. Người báo sẽ đọc được khi kiểm tra bằng "
                           "mã biên nhận; Bình Yên không tự nhắn cho họ.").format(
        reference=tip.reference_in(settings.tz)))


async def list_open(message: Message, session: AsyncSession, member: Member, settings: Settings) -> None:
    """/tips: the open tips of the officer's scope, without their (sealed) text."""
    tips, total = await open_tips(session, member, MAX_LISTED)
    if not tips:
        await message.answer(_("Không có tin báo nào đang mở trong địa bàn bạn phụ trách."))
        return
    lines = [_("<b>Tin báo đang mở: {count}</b>").format(count=total)]
    for tip in tips:
        lines.append(_("• {reference} — {kind} — {status} — {date} — {place}").format(
            reference=tip.reference_in(settings.tz), kind=kind_label(tip.kind), status=status_label(tip.status),
            date=local_date(tip.created_at, settings.tz), place=hd.quote(tip.area.name)))
    if total > len(tips):
        lines.append(_("… và {count} tin báo cũ hơn.").format(count=total - len(tips)))
    lines += ["", _("Nội dung tin báo chỉ đọc được trong nhóm cán bộ (bản sao lúc gửi), hoặc bằng "
                    "lệnh binhyen tips list trên máy giữ khóa riêng. Trả lời: /reply MÃ-TIN nội dung.")]
    await message.answer("\n".join(lines))


def router() -> Router:
    """The officers' side of tips."""
    router = Router(name="tip-inbox")
    router.callback_query.register(triage, Triage.filter(), flags=requires(*OFFICER_ROLES))
    router.message.register(reply, Command("reply"), flags=COMMANDS["reply"].flags)
    router.message.register(list_open, Command("tips"), F.chat.type == ChatType.PRIVATE,
                            flags=COMMANDS["tips"].flags)
    return router
