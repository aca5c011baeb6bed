"""What the tip conversations share: a draft that expires, and answers split to fit."""

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from base.labels import render_problem
from base.state_expiry import STATE_SECONDS
from base.tip_labels import split_messages
from db.models import utcnow
from db.services.tips import clean_text
from db.text import Problem

# A tip conversation is refused this long after its start, however many steps it took; the
# storage forgets it (and every conversation) an hour after its last step
# (base/state_expiry.py), so that its expiry in Redis says nothing of what it was.
DRAFT_SECONDS = STATE_SECONDS


async def begin(state: FSMContext, first: State, lifetime: int = DRAFT_SECONDS, **values: Any) -> None:
    """Start a conversation afresh, refused `lifetime` seconds from now: a new draft replaces
    anything left from an earlier one."""
    await state.set_state(first)
    await state.set_data({"started": utcnow().timestamp(), "lifetime": lifetime, **values})


async def step(state: FSMContext, next_state: State, **values: Any) -> None:
    """Move on to `next_state`, adding `values` to the draft."""
    await state.set_state(next_state)
    if values:
        await state.update_data(**values)


def _lifetime(data: dict[str, Any]) -> int:
    return int(data.get("lifetime", DRAFT_SECONDS))


def _expired(data: dict[str, Any]) -> bool:
    started = data.get("started")
    return started is None or utcnow().timestamp() - started > _lifetime(data)


async def live_draft(event: Message | CallbackQuery, state: FSMContext) -> dict[str, Any] | None:
    """The draft of this step (a pressed button is answered), or None after saying it expired."""
    if isinstance(event, CallbackQuery):
        await event.answer()
        event = event.message
    data = await state.get_data()
    if _expired(data):
        await state.clear()
        await say_expired(event, _lifetime(data))
        return None
    return data


async def typed_text(message: Message, state: FSMContext, limit: int) -> str | None:
    """The cleaned text of this step, or None after saying why it cannot be taken."""
    if await live_draft(message, state) is None:
        return None
    try:
        return clean_text(message.text, limit)
    except Problem as problem:
        await message.answer(render_problem(problem))
        return None


async def say_expired(message: Message, lifetime: int = DRAFT_SECONDS) -> None:
    """Tell the user the conversation timed out and nothing was kept."""
    await message.answer(_("Phiên này đã quá {minutes} phút nên đã được xóa; không có gì được lưu. "
                           "Bạn hãy bắt đầu lại bằng lệnh.").format(minutes=lifetime // 60))


async def answer_long(
    message: Message, parts: list[str], reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send parts in as few messages as fit; the buttons go under the last one."""
    messages = split_messages(parts)
    for number, text in enumerate(messages, start=1):
        await message.answer(text, reply_markup=reply_markup if number == len(messages) else None)


async def cancel(event: Message | CallbackQuery, state: FSMContext) -> None:
    """/cancel or the Hủy button: forget the conversation and everything typed in it."""
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer()
        event = event.message
    await event.answer(_("Đã hủy. Không có gì được lưu."))


async def private_only(message: Message) -> None:
    """Tips and receipt codes are never handled in a group, where others would see them."""
    await message.answer(_("Để giữ kín danh tính, bạn hãy dùng lệnh này trong tin nhắn riêng với Bình Yên."))
