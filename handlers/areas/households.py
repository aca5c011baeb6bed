"""Hamlet heads and officers: households not yet pledged / not yet reached, and approvals."""

from typing import Literal

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.commands import COMMANDS, STAFF, requires
from base.formatting import echo, short, today
from base.paging import fetch_page
from base.settings import Settings
from db.models import Area, Household, Member
from db.services.areas import get_area, subtree
from db.services.campaigns import current_campaign
from db.services.households import households_missing
from db.services.joining import decide_household, pending_households
from db.services.members import scope_covers
from db.text import Translator
from handlers.common.callbacks import Id, Page
from handlers.common.keyboards import keyboard, pager

PAGE = 10
MAX_HAMLET_BUTTONS = 40
# Pending households /approve shows at once, each a message with its own buttons.
MAX_PENDING_SHOWN = 20


class HamletChoice(CallbackData, prefix="hl"):
    """The hamlet whose lists to show."""

    action: Literal["h"] = "h"
    hamlet: Id


class ListPage(CallbackData, prefix="hl"):
    """A page of the households not pledged or not reached."""

    which: Literal["unpledged", "unreached"]
    hamlet: Id
    page: Page


class PendingHamlet(CallbackData, prefix="ap"):
    """The hamlet whose new households to approve."""

    action: Literal["h"] = "h"
    hamlet: Id


class Decision(CallbackData, prefix="ap"):
    """Approve (y) or not (n) a new household."""

    verdict: Literal["y", "n"]
    household: Id


async def _hamlet_in_scope(session: AsyncSession, member: Member, hamlet_id: int) -> Area | None:
    area = await session.get(Area, hamlet_id)
    if area is None or area.level != "hamlet" or not scope_covers(member, area):
        return None
    return area


async def _resolve(message: Message, session: AsyncSession, member: Member, code: str,
                   choice: type[HamletChoice] | type[PendingHamlet]) -> Area | None:
    """The hamlet a staff command is about: the typed code, the head's own hamlet, or a
    button list of the hamlets in the member's scope (then None)."""
    if code:
        area = await get_area(session, code)
        if area is None:
            await message.answer(_("Không có địa bàn mã {code}.").format(code=echo(code)))
            return None
        if not scope_covers(member, area):
            await message.answer(_("Địa bàn {code} nằm ngoài phạm vi bạn phụ trách.").format(code=area.code))
            return None
    else:
        area = member.area
    if area is not None and area.level == "hamlet":
        return area
    hamlets = [a for a in (await subtree(session, area) if area else []) if a.level == "hamlet"]
    if not hamlets:
        await message.answer(_("Bạn gõ kèm mã ấp, ví dụ /households MÃ_ẤP."))
        return None
    await message.answer(_("Chọn ấp:"), reply_markup=keyboard(
        *[[(short(f"{h.name} ({h.code})"), choice(hamlet=h.id))] for h in hamlets[:MAX_HAMLET_BUTTONS]]
    ))
    return None


async def households_command(message: Message, command: CommandObject, session: AsyncSession,
                             member: Member, clock: Clock, settings: Settings) -> None:
    """/households [HAMLET]: the hamlet's progress and the two lists."""
    hamlet = await _resolve(message, session, member, (command.args or "").strip(), HamletChoice)
    if hamlet is not None:
        await summary(message, session, hamlet, clock, settings)


async def summary(target: Message, session: AsyncSession, hamlet: Area, clock: Clock,
                  settings: Settings) -> None:
    """The hamlet's counts for the open campaign, with buttons for each list."""
    campaign = await current_campaign(session, hamlet, today(clock, settings))
    if campaign is None:
        await target.answer(_("Chưa có đợt thi đua nào đang mở cho {hamlet}.").format(
            hamlet=hd.quote(hamlet.name)))
        return
    total = await session.scalar(select(func.count()).select_from(Household).where(
        Household.hamlet_id == hamlet.id, Household.status == "active")) or 0
    _list, unpledged = await households_missing(session, "unpledged", hamlet, campaign, 0, 0)
    _list, unreached = await households_missing(session, "unreached", hamlet, campaign, 0, 0)
    pending = len(await pending_households(session, hamlet))
    lines = [
        _("<b>{hamlet}</b> — đợt thi đua {year}: {total} hộ.").format(
            hamlet=hd.quote(hamlet.name), year=campaign.year, total=total),
        _("Đã ký cam kết: {done}/{total}. Đã được tuyên truyền: {reached}/{total}.").format(
            done=total - unpledged, reached=total - unreached, total=total),
    ]
    if pending:
        lines.append(_("Có {count} hộ mới chờ duyệt: /approve {code}").format(count=pending, code=hamlet.code))
    await target.answer("\n".join(lines), reply_markup=keyboard(
        [(_("Chưa ký cam kết ({count})").format(count=unpledged), ListPage(which="unpledged", hamlet=hamlet.id, page=0))],
        [(_("Chưa được tuyên truyền ({count})").format(count=unreached), ListPage(which="unreached", hamlet=hamlet.id, page=0))],
    ))


async def pick_hamlet(callback: CallbackQuery, callback_data: HamletChoice, session: AsyncSession,
                      member: Member, clock: Clock, settings: Settings) -> None:
    """A hamlet chosen from the buttons."""
    await callback.answer()
    hamlet = await _hamlet_in_scope(session, member, callback_data.hamlet)
    if hamlet is None:
        await callback.message.answer(_("Ấp này nằm ngoài phạm vi bạn phụ trách."))
        return
    await summary(callback.message, session, hamlet, clock, settings)


async def list_page(callback: CallbackQuery, callback_data: ListPage, session: AsyncSession, member: Member,
                    clock: Clock, settings: Settings) -> None:
    """One page of households not pledged / not reached."""
    await callback.answer()
    which, page = callback_data.which, callback_data.page
    hamlet = await _hamlet_in_scope(session, member, callback_data.hamlet)
    campaign = await current_campaign(session, hamlet, today(clock, settings)) if hamlet else None
    if hamlet is None or campaign is None:
        await callback.message.answer(_("Ấp này nằm ngoài phạm vi bạn phụ trách."))
        return
    households, total, page, pages = await fetch_page(
        lambda number: households_missing(session, which, hamlet, campaign, number, PAGE), page, PAGE)
    title = (_("Hộ chưa ký cam kết") if which == "unpledged" else _("Hộ chưa được tuyên truyền"))
    if not total:
        await callback.message.answer(_("{title}: không còn hộ nào. 👏").format(title=title))
        return
    lines = [_("<b>{title}</b> — {hamlet} ({total} hộ, trang {page}/{pages}):").format(
        title=title, hamlet=hd.quote(hamlet.name), total=total, page=page + 1, pages=pages)]
    lines += [f"{h.code} — {hd.quote(h.head_name)}" + (f", {hd.quote(h.address)}" if h.address else "")
              for h in households]
    await callback.message.answer("\n".join(lines), reply_markup=keyboard(
        pager(lambda number: ListPage(which=which, hamlet=hamlet.id, page=number), page, total, PAGE)))


async def approve_command(message: Message, command: CommandObject, session: AsyncSession,
                          member: Member) -> None:
    """/approve [HAMLET]: households waiting for approval, each with ✅ / ❌."""
    hamlet = await _resolve(message, session, member, (command.args or "").strip(), PendingHamlet)
    if hamlet is not None:
        await show_pending(message, session, hamlet)


async def show_pending(target: Message, session: AsyncSession, hamlet: Area) -> None:
    """The pending households of a hamlet."""
    pending = await pending_households(session, hamlet)
    if not pending:
        await target.answer(_("{hamlet}: không có hộ nào chờ duyệt.").format(hamlet=hd.quote(hamlet.name)))
        return
    if len(pending) > MAX_PENDING_SHOWN:
        # First, so that the buttons of the last household stay the ones a text channel numbers.
        await target.answer(_(
            "Có {total} hộ chờ duyệt; dưới đây là {shown} hộ đầu. Duyệt xong, bạn gõ /approve "
            "{code} để xem {rest} hộ còn lại."
        ).format(total=len(pending), shown=MAX_PENDING_SHOWN, code=hamlet.code,
                 rest=len(pending) - MAX_PENDING_SHOWN))
    for household in pending[:MAX_PENDING_SHOWN]:
        await target.answer(
            _("Hộ mới đăng ký ({code}): <b>{head}</b>, {address}, {size} người.").format(
                code=household.code, head=hd.quote(household.head_name),
                address=hd.quote(household.address), size=household.size),
            reply_markup=keyboard([(_("✅ Duyệt"), Decision(verdict="y", household=household.id)),
                                   (_("❌ Không duyệt"), Decision(verdict="n", household=household.id))]),
        )


async def pick_pending_hamlet(callback: CallbackQuery, callback_data: PendingHamlet, session: AsyncSession,
                              member: Member) -> None:
    """A hamlet chosen for approvals."""
    await callback.answer()
    hamlet = await _hamlet_in_scope(session, member, callback_data.hamlet)
    if hamlet is None:
        await callback.message.answer(_("Ấp này nằm ngoài phạm vi bạn phụ trách."))
        return
    await show_pending(callback.message, session, hamlet)


async def decide(callback: CallbackQuery, callback_data: Decision, session: AsyncSession, member: Member,
                 after_commit: AfterCommit, translator: Translator, clock: Clock) -> None:
    """✅ Duyệt / ❌ Không duyệt."""
    await callback.answer()
    approve = callback_data.verdict == "y"
    household, _members = await decide_household(
        session, member, callback_data.household, approve, translator, clock.now())
    text = _("Đã duyệt hộ {head} ({code}).") if approve else _("Đã không duyệt hộ {head} ({code}).")
    after_commit.call(callback.message.answer,
                      text.format(head=hd.quote(household.head_name), code=household.code))


def router() -> Router:
    """The router of the hamlet head's lists and approvals (staff only)."""
    router = Router(name="households")
    router.message.register(households_command, Command("households"),
                            flags=COMMANDS["households"].flags)
    router.message.register(approve_command, Command("approve"), flags=COMMANDS["approve"].flags)
    staff = requires(*STAFF)
    router.callback_query.register(pick_hamlet, HamletChoice.filter(), flags=staff)
    router.callback_query.register(list_page, ListPage.filter(), flags=staff)
    router.callback_query.register(pick_pending_hamlet, PendingHamlet.filter(), flags=staff)
    router.callback_query.register(decide, Decision.filter(), flags=staff)
    return router
