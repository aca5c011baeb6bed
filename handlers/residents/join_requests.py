"""/requests: a household's members (and the hamlet head, and officers above) confirm or refuse
those who ask to join it."""

from typing import Literal

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.commands import COMMANDS
from db.models import Member
from db.services.join_requests import MAX_SHOWN, decide_join, requests_to_decide
from db.text import Translator
from handlers.common.callbacks import Id
from handlers.common.keyboards import keyboard


class Decision(CallbackData, prefix="jr"):
    """Confirm (y) or refuse (n) a request to join a household."""

    verdict: Literal["y", "n"]
    request: Id


async def list_requests(message: Message, session: AsyncSession, member: Member | None) -> None:
    """/requests: the waiting requests the caller may decide, each with ✅ / ❌."""
    waiting = await requests_to_decide(session, member)
    if not waiting:
        await message.answer(_("Không có ai đang xin vào hộ mà bạn xác nhận được."))
        return
    if len(waiting) > MAX_SHOWN:
        # First, so that the buttons of the last request stay the ones a text channel numbers.
        await message.answer(_("Dưới đây là {shown} yêu cầu đầu; xử lý xong, bạn gõ /requests để xem tiếp.")
                             .format(shown=MAX_SHOWN))
    for request in waiting[:MAX_SHOWN]:
        household = request.household
        await message.answer(
            _("Xin vào hộ <b>{head}</b> ({code}), {hamlet}. Lời giới thiệu: “{note}”").format(
                head=hd.quote(household.head_name), code=household.code,
                hamlet=hd.quote(household.hamlet.name), note=hd.quote(request.note or "")),
            reply_markup=keyboard([(_("✅ Đúng người trong hộ"), Decision(verdict="y", request=request.id)),
                                   (_("❌ Từ chối"), Decision(verdict="n", request=request.id))]),
        )


async def decide(callback: CallbackQuery, callback_data: Decision, session: AsyncSession, member: Member | None,
                 after_commit: AfterCommit, translator: Translator, clock: Clock) -> None:
    """✅ / ❌ under a request: the newcomer joins, or not, and is told."""
    await callback.answer()
    approve = callback_data.verdict == "y"
    request = await decide_join(session, member, callback_data.request, approve, translator, clock.now())
    household = request.household
    text = (_("Đã xác nhận người mới vào hộ {head} ({code}).") if approve
            else _("Đã từ chối yêu cầu vào hộ {head} ({code})."))
    after_commit.call(callback.message.answer,
                      text.format(head=hd.quote(household.head_name), code=household.code))


def router() -> Router:
    """/requests and its buttons."""
    router = Router(name="join-requests")
    router.message.register(list_requests, Command("requests"), flags=COMMANDS["requests"].flags)
    router.callback_query.register(decide, Decision.filter())
    return router
