"""/pledge: the household confirms the campaign's pledge, or withdraws it with a reason."""

from typing import Literal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.commands import COMMANDS
from base.formatting import local_date, today
from base.labels import ROLE_LABELS
from base.settings import Settings
from content.catalog import Catalog
from db.models import Member, Pledge
from db.services.pledges import confirm_pledge, pledge_context, pledge_place, withdraw_pledge
from handlers.common.keyboards import keyboard


class Withdrawing(StatesGroup):
    """Waiting for the reason of a withdrawal."""

    reason = State()


class PledgeAction(CallbackData, prefix="pledge"):
    """Confirm the household's pledge, or withdraw it."""

    action: Literal["confirm", "withdraw"]


def status_line(pledge: Pledge | None, head: str, year: int, settings: Settings) -> str:
    """Where the household's pledge stands, never naming who confirmed it (only their role)."""
    if pledge is None:
        return _("Hộ <b>{head}</b> chưa xác nhận cam kết năm {year}.").format(head=hd.quote(head), year=year)
    if pledge.status == "withdrawn":
        return _("Hộ <b>{head}</b> đã rút cam kết ngày {date}. Lý do: {reason}").format(
            head=hd.quote(head), date=local_date(pledge.withdrawn_at, settings),
            reason=hd.quote(pledge.withdraw_reason or ""))
    return _("✅ Hộ <b>{head}</b> đã xác nhận cam kết ngày {date} ({role} xác nhận).").format(
        head=hd.quote(head), date=local_date(pledge.confirmed_at, settings),
        role=str(ROLE_LABELS.get(pledge.confirmed_by_role, pledge.confirmed_by_role)).lower())


async def show_pledge(
    message: Message, session: AsyncSession, member: Member | None, catalog: Catalog, i18n: I18n,
    clock: Clock, settings: Settings, state: FSMContext,
) -> None:
    """/pledge: the pledge text, the household's status and the button that fits it."""
    await state.clear()
    context = await pledge_context(session, member, today(clock, settings))
    text = catalog.pledge(context.campaign.pledge_version, i18n.current_locale)
    if text is None:
        await message.answer(_("Chưa có văn bản cam kết cho đợt thi đua này. Bạn báo trưởng ấp giúp."))
        return
    pledge = context.pledge
    if pledge is not None and pledge.status == "confirmed":
        button = (_("Rút cam kết"), PledgeAction(action="withdraw"))
    else:
        button = (_("✅ Hộ tôi xác nhận cam kết"), PledgeAction(action="confirm"))
    await message.answer(
        f"<b>{hd.quote(text.title)}</b>\n\n{text.html}\n\n"
        + status_line(pledge, context.household.head_name, context.campaign.year, settings),
        reply_markup=keyboard([button]),
    )


async def confirm(
    callback: CallbackQuery, session: AsyncSession, member: Member | None, catalog: Catalog,
    i18n: I18n, clock: Clock, settings: Settings, after_commit: AfterCommit,
) -> None:
    """The household confirms; a second member learns it was already done."""
    await callback.answer()
    place = await pledge_place(session, member, today(clock, settings))
    if catalog.pledge(place.campaign.pledge_version, i18n.current_locale) is None:
        # An old or forged button: nobody confirms a text they could not read.
        await callback.message.answer(_(
            "Chưa có văn bản cam kết cho đợt thi đua này. Bạn báo trưởng ấp giúp."))
        return
    context, created = await confirm_pledge(session, member, place, i18n.current_locale)
    head = context.household.head_name
    if created:
        after_commit.call(callback.message.answer, _(
            "✅ Cảm ơn bạn! Hộ <b>{head}</b> đã xác nhận cam kết xây dựng khóm, ấp “An toàn về an "
            "ninh, trật tự” ngày {date}."
        ).format(head=hd.quote(head), date=local_date(context.pledge.confirmed_at, settings)))
    else:
        await callback.message.answer(_("Hộ đã xác nhận trước đó rồi.") + "\n"
                                      + status_line(context.pledge, head, context.campaign.year, settings))


async def ask_reason(
    callback: CallbackQuery, session: AsyncSession, member: Member | None, clock: Clock,
    settings: Settings, state: FSMContext,
) -> None:
    """Rút cam kết: ask why."""
    await callback.answer()
    context = await pledge_context(session, member, today(clock, settings))
    if context.pledge is None or context.pledge.status != "confirmed":
        await callback.message.answer(_("Hộ của bạn chưa xác nhận cam kết nên không có gì để rút."))
        return
    await state.set_state(Withdrawing.reason)
    await callback.message.answer(_("Vì sao hộ rút cam kết? Bạn gõ lý do (hoặc /cancel để thôi)."))


async def withdraw(
    message: Message, session: AsyncSession, member: Member | None, clock: Clock,
    settings: Settings, state: FSMContext, after_commit: AfterCommit,
) -> None:
    """The reason typed: withdraw."""
    pledge = await withdraw_pledge(session, member, today(clock, settings), message.text or "")
    await state.clear()
    after_commit.call(message.answer, _(
        "Đã rút cam kết của hộ. Lý do: {reason}\nBạn có thể xác nhận lại bất cứ lúc nào bằng /pledge."
    ).format(reason=hd.quote(pledge.withdraw_reason)))


def router() -> Router:
    """The /pledge router."""
    router = Router(name="pledge")
    router.message.register(show_pledge, Command("pledge"), flags=COMMANDS["pledge"].flags)
    router.callback_query.register(confirm, PledgeAction.filter(F.action == "confirm"))
    router.callback_query.register(ask_reason, PledgeAction.filter(F.action == "withdraw"))
    router.message.register(withdraw, Withdrawing.reason, F.text, ~F.text.startswith("/"))
    return router
