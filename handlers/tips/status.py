"""/tipstatus CODE: the tipster reads the status and replies of their tip, and adds to it.

The receipt code is the only key: it finds the tip (by a memory-hard derivation under the
server's secret) and opens the replies (by the key it derives). Wrong codes are counted per sender and limited per hour.
"""

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS
from base.labels import render_problem
from base.settings import Settings
from base.tip_labels import kind_label, local_date, local_time, status_label
from db.models import Tip
from db.services.tip_limits import TipLimits
from db.services.tip_sealing import TipKeys, normalise_code
from db.services.tips import MAX_TEXT, add_addition, check_addition_room, find_by_code, tipster_history
from db.text import Problem
from handlers.common.callbacks import Word
from handlers.common.keyboards import button
from handlers.tips.drafting import answer_long, begin, cancel, live_draft, private_only, step, typed_text
from handlers.tips.inbox import send_to_officers

# How long the chat keeps the tip a status check opened: time to press "Bổ sung thông tin"
# and write. Then nothing in the conversation state points to the tip any more.
VIEWING_SECONDS = 15 * 60


class TipStatusForm(StatesGroup):
    """Asking for a code, looking at a tip, writing an addition."""

    code = State()
    viewing = State()
    adding = State()


class StatusAction(CallbackData, prefix="tips"):
    """Ask for a code, start an addition, or stop."""

    action: Word


def _button(text: str, action: str) -> InlineKeyboardButton:
    return button(text, StatusAction(action=action))


async def ask_status(
    message: Message, command: CommandObject, state: FSMContext, session: AsyncSession,
    settings: Settings, tip_keys: TipKeys | None, tip_limits: TipLimits, channel: str,
    channel_user_id: str,
) -> None:
    """/tipstatus [CODE]: show the tip, or ask for the code."""
    if tip_keys is None:
        await message.answer(_("Chức năng tin báo chưa được bật ở đây (chưa có khóa mã hóa)."))
        return
    if not command.args:
        await begin(state, TipStatusForm.code)
        await message.answer(_("Gõ mã biên nhận 16 chữ số của tin báo (ví dụ 4821 0937 5512 7306)."))
        return
    await _show(message, command.args, state, session, settings, tip_keys, tip_limits, channel, channel_user_id)


async def ask_code(callback: CallbackQuery, state: FSMContext) -> None:
    """The "Xem trạng thái" button: ask for the code (buttons never carry it)."""
    await callback.answer()
    await begin(state, TipStatusForm.code)
    await callback.message.answer(_("Gõ mã biên nhận 16 chữ số của tin báo (ví dụ 4821 0937 5512 7306)."))


async def give_code(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
    tip_keys: TipKeys | None, tip_limits: TipLimits, channel: str, channel_user_id: str,
) -> None:
    """The code, typed after /tipstatus or the button."""
    if await live_draft(message, state) is None:
        return
    if tip_keys is None:
        await state.clear()
        return
    await _show(message, message.text, state, session, settings, tip_keys, tip_limits, channel, channel_user_id)


async def _show(
    message: Message, typed: str, state: FSMContext, session: AsyncSession, settings: Settings,
    tip_keys: TipKeys, tip_limits: TipLimits, channel: str, channel_user_id: str,
) -> None:
    sender = await tip_limits.sender(channel, channel_user_id)
    try:
        await tip_limits.check_code_attempts(sender, session)
    except Problem as problem:
        await state.clear()
        await message.answer(render_problem(problem))
        return
    code = normalise_code(typed)
    if code is None:
        await message.answer(_("Mã biên nhận gồm 16 chữ số (mã cấp trước đây có 12), ví dụ 4821 0937 5512 7306. "
                               "Bạn hãy gõ lại."))
        return
    try:
        await tip_limits.take_lookup(sender)
    except Problem as problem:
        await state.clear()
        await message.answer(render_problem(problem))
        return
    found = await find_by_code(session, tip_keys, code)
    if found is None:
        await tip_limits.wrong_code(sender, session)
        await state.clear()
        await message.answer(_("Không có tin báo nào với mã này. Bạn hãy kiểm tra lại từng chữ số."))
        return
    tip = found.tip
    history = await tipster_history(session, found)
    lines = [
        _("<b>Tin báo gửi ngày {date}</b>").format(date=local_date(tip.created_at, settings.tz)),
        _("Loại: {kind}").format(kind=kind_label(tip.kind)),
        _("Trạng thái: <b>{status}</b>").format(status=status_label(tip.status)),
    ]
    parts = ["\n".join(lines)]
    for item in history:
        when = local_time(item.at, settings.tz)
        if item.kind == "status":
            parts.append(_("{when} — chuyển sang “{status}”.").format(when=when, status=status_label(item.status)))
        elif item.kind == "reply":
            parts.append(_("{when} — <b>Công an trả lời:</b>\n{text}").format(when=when, text=hd.quote(item.text)))
        else:
            parts.append(_("{when} — <b>Bạn bổ sung:</b>\n{text}").format(when=when, text=hd.quote(item.text)))
    if not any(item.kind == "reply" for item in history):
        parts.append(_("Chưa có trả lời. Bạn hãy xem lại sau; Bình Yên không tự nhắn cho bạn."))
    if tip.status == "closed":
        await state.clear()
        await answer_long(message, parts)
        return
    # Only while an addition may follow (a few minutes) does the chat know which tip it is.
    await begin(state, TipStatusForm.viewing, VIEWING_SECONDS, tip_id=tip.id)
    await answer_long(message, parts, InlineKeyboardMarkup(inline_keyboard=[[_button(_("Bổ sung thông tin"), "add")]]))


async def start_addition(callback: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    """The "Bổ sung thông tin" button: ask for the text, if the tip takes one more."""
    data = await live_draft(callback, state)
    if data is None:
        return
    tip = await session.get(Tip, data.get("tip_id", 0))
    if tip is None:
        await state.clear()
        await callback.message.answer(_("Không tìm thấy tin báo này nữa."))
        return
    try:
        await check_addition_room(session, tip)
    except Problem as problem:
        await state.clear()
        await callback.message.answer(render_problem(problem))
        return
    await step(state, TipStatusForm.adding)
    await callback.message.answer(
        _("Gõ thông tin bổ sung (tối đa {limit} ký tự). Gõ /cancel để thôi.").format(limit="4.000"))


async def give_addition(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, settings: Settings,
    i18n: I18n, tip_keys: TipKeys | None, channel: str, after_commit: AfterCommit,
) -> None:
    """Seal the addition to the tip and copy it to the officers' group."""
    data = await live_draft(message, state)
    if data is None:
        return
    tip = await session.get(Tip, data.get("tip_id", 0))
    if tip is None or tip_keys is None:
        await state.clear()
        await message.answer(_("Không tìm thấy tin báo này nữa."))
        return
    text = await typed_text(message, state, MAX_TEXT)
    if text is None:
        return
    await add_addition(session, tip_keys, tip, text)
    after_commit.call(message.answer, _("Đã thêm thông tin vào tin báo. Công an phụ trách sẽ đọc "
                                        "được. Cảm ơn bạn."))
    after_commit.call(state.clear)
    await send_to_officers(bot, session, settings, i18n, channel, tip, lambda: ([_(
        "➕ <b>Bổ sung cho {reference}</b> ({kind}):\n{text}").format(
        reference=tip.reference_in(settings.tz), kind=kind_label(tip.kind), text=hd.quote(text))], None),
        after_commit)


async def text_expected(message: Message) -> None:
    """Something other than text where a code or an addition was asked for."""
    await message.answer(_("Bạn hãy gõ bằng chữ, hoặc gõ /cancel để thôi."))


def router() -> Router:
    """/tipstatus and additions."""
    router = Router(name="tip-status")
    typed = F.text & ~F.text.startswith("/")
    private = F.chat.type == ChatType.PRIVATE
    router.message.register(ask_status, Command("tipstatus"), private, flags=COMMANDS["tipstatus"].flags)
    router.message.register(private_only, Command("tipstatus"), flags=COMMANDS["tipstatus"].flags)
    router.callback_query.register(ask_code, StatusAction.filter(F.action == "ask"))
    router.message.register(cancel, Command("cancel"), StateFilter(TipStatusForm))
    router.message.register(give_code, TipStatusForm.code, typed)
    router.callback_query.register(start_addition, StatusAction.filter(F.action == "add"), TipStatusForm.viewing)
    router.message.register(give_addition, TipStatusForm.adding, typed)
    router.message.register(text_expected, StateFilter(TipStatusForm.code, TipStatusForm.adding), ~F.text)
    return router
