"""/campaign: officers and admins see the campaign calendar of this year or the next, add
milestones and reminders, and remove reminders that have not been sent."""

import unicodedata
from datetime import date
from typing import TYPE_CHECKING, Literal

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.commands import COMMANDS, requires
from base.formatting import short, today
from base.settings import Settings
from content.catalog import Catalog
from db.models import AUDIENCES, MILESTONE_KINDS, Area, Campaign, Member, Reminder
from db.services.audiences import AUDIENCE_LABELS
from db.services.members import OFFICER_ROLES
from db.services.milestones import (
    DEFAULT_DAYS,
    KIND_TITLES,
    MAX_DAYS_BEFORE,
    MAX_TITLE,
    ReminderSpec,
    add_milestone_in_year,
    add_reminder,
    campaign_for_year,
    get_milestone,
    may_remove,
    milestone_title,
    milestones_for,
    parse_days_before,
    reminders_for,
    remove_reminder,
)
from db.services.pledge_texts import newest_pledge_version
from db.services.schedule_times import parse_day, parse_hhmm
from handlers.areas.area import area_in_scope
from handlers.common.callbacks import Id, Year
from handlers.common.keyboards import button, not_a_command

if TYPE_CHECKING:
    from base.clock import Clock

TIMES = ("07:00", "08:00", "19:00")
REMINDER_STATUS = {"planned": __("đã hẹn"), "sent": __("đã gửi"), "missed": __("bỏ lỡ")}
STALE = __("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh.")


class Step(CallbackData, prefix="cp"):
    """A button without a value: close, add a milestone or a reminder, remove one, the festival day."""

    action: Literal["close", "add", "remind", "rm", "festival"]


class YearChoice(CallbackData, prefix="cp"):
    """This year's or next year's calendar."""

    action: Literal["year"] = "year"
    year: Year


class KindChoice(CallbackData, prefix="cp"):
    """The kind of a new milestone."""

    action: Literal["kind"] = "kind"
    kind: Literal[MILESTONE_KINDS]


class MilestoneChoice(CallbackData, prefix="cp"):
    """The milestone a reminder hangs off."""

    action: Literal["ms"] = "ms"
    milestone: Id


class TimeChoice(CallbackData, prefix="cp"):
    """A preset time of day, as HHMM (the separator ':' cannot be in button data)."""

    action: Literal["at"] = "at"
    at: Literal[tuple(at.replace(":", "") for at in TIMES)]


class AudienceChoice(CallbackData, prefix="cp"):
    """Whom a reminder goes to."""

    action: Literal["aud"] = "aud"
    audience: Literal[AUDIENCES]


class Removal(CallbackData, prefix="cp"):
    """Remove a reminder: ask (`rm`), then confirm (`rmok`)."""

    action: Literal["rm", "rmok"]
    reminder: Id


class CampaignForm(StatesGroup):
    """The steps of adding a milestone or a reminder."""

    menu = State()
    kind = State()
    title = State()
    day = State()
    milestone = State()
    offset = State()
    at = State()
    audience = State()


def _keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [button(_("Đóng"), Step(action="close"))]])


def _offset_label(days: int) -> str:
    if days == 0:
        return _("Đúng ngày")
    return ngettext("Trước {days} ngày", "Trước {days} ngày", days).format(days=days)


def _when(reminder: Reminder, settings: Settings) -> str:
    return f"{reminder.due_at.astimezone(settings.tz):%H:%M %d/%m}"


async def _calendar_text(
    session: AsyncSession, campaign: Campaign | None, area: Area, year: int, settings: Settings
) -> str:
    if campaign is None:
        return _("<b>Năm {year}</b> — {area}\n\nChưa có chiến dịch năm {year} cho địa bàn này. "
                 "Thêm mốc đầu tiên để tạo chiến dịch.").format(year=year, area=hd.quote(area.name))
    milestones = await milestones_for(session, campaign, area)
    reminders = await reminders_for(session, milestones, area)
    lines = [_("<b>{name}</b> — {area}").format(name=hd.quote(campaign.name), area=hd.quote(area.name)),
             "", _("📅 <b>Các mốc</b>")]
    if not milestones:
        lines.append(_("Chưa có mốc nào."))
    for milestone in milestones:
        lines.append(f"• {milestone.happens_on:%d/%m/%Y} — {hd.quote(milestone_title(milestone, _))}")
        for reminder in (r for r in reminders if r.milestone_id == milestone.id):
            status = str(REMINDER_STATUS[reminder.status])
            if reminder.status == "sent":
                count = reminder.recipients or 0
                status = ngettext("đã gửi tới {count} người", "đã gửi tới {count} người",
                                  count).format(count=count)
            lines.append("   ⏰ " + _("{when} · {offset} · {audience} · {area} — {status}").format(
                when=_when(reminder, settings), offset=_offset_label(reminder.days_before),
                audience=_(AUDIENCE_LABELS[reminder.audience]), area=hd.quote(reminder.area.name),
                status=status))
    return "\n".join(lines)


def _menu_keyboard(*extra: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return _keyboard([button(_("Thêm mốc"), Step(action="add"))], [button(_("Thêm lời nhắc"), Step(action="remind"))],
                     [button(_("Xóa lời nhắc"), Step(action="rm"))], *extra)


def _years(clock: "Clock", settings: Settings) -> tuple[int, int]:
    """The years /campaign may show: this one, and the next (for its early deadlines)."""
    this_year = today(clock, settings).year
    return this_year, this_year + 1


async def _open_calendar(
    message: Message, session: AsyncSession, state: FSMContext, area: Area, year: int,
    settings: Settings, clock: "Clock",
) -> None:
    campaign = await campaign_for_year(session, area, year)
    await state.set_state(CampaignForm.menu)
    await state.set_data({"area_id": area.id, "year": year,
                          "campaign_id": campaign.id if campaign else None})
    this_year, next_year = _years(clock, settings)
    other = next_year if year == this_year else this_year
    await message.answer(await _calendar_text(session, campaign, area, year, settings),
                         reply_markup=_menu_keyboard(
                             [button(_("📅 Xem năm {year}").format(year=other), YearChoice(year=other))]))


async def show(
    message: Message, command: CommandObject, session: AsyncSession, member: Member,
    state: FSMContext, settings: Settings, clock: "Clock",
) -> None:
    """This year's campaign calendar for the member's area (or a code within their scope)."""
    await state.clear()
    code = (command.args or "").strip()
    area = member.area
    if code:
        area = await area_in_scope(message, session, member, code)
        if area is None:
            return
    elif area is None:
        await message.answer(_("Gõ /campaign MÃ để xem lịch chiến dịch của một địa bàn."))
        return
    await _open_calendar(message, session, state, area, _years(clock, settings)[0], settings, clock)


async def choose_year(
    callback: CallbackQuery, callback_data: YearChoice, session: AsyncSession, state: FSMContext,
    settings: Settings, clock: "Clock",
) -> None:
    """This year's or next year's calendar."""
    year = callback_data.year
    data = await state.get_data()
    if year not in _years(clock, settings) or "area_id" not in data:
        await callback.answer(str(STALE), show_alert=True)
        return
    await callback.answer()
    area = await session.get(Area, data["area_id"])
    await _open_calendar(callback.message, session, state, area, year, settings, clock)


async def _context(session: AsyncSession, state: FSMContext) -> tuple[dict, Area, Campaign | None, int]:
    """The calendar the conversation is about: its data, area, campaign (None before its first
    milestone) and year."""
    data = await state.get_data()
    campaign = await session.get(Campaign, data["campaign_id"]) if data.get("campaign_id") else None
    year = data.get("year") or (campaign.year if campaign else None)
    return data, await session.get(Area, data["area_id"]), campaign, year


async def ask_kind(callback: CallbackQuery, state: FSMContext) -> None:
    """Which milestone."""
    await callback.answer()
    await state.set_state(CampaignForm.kind)
    rows = [[button(_(KIND_TITLES[kind]), KindChoice(kind=kind))] for kind in MILESTONE_KINDS]
    await callback.message.answer(_("Thêm mốc nào?"), reply_markup=_keyboard(*rows))


async def choose_kind(
    callback: CallbackQuery, callback_data: KindChoice, session: AsyncSession, state: FSMContext
) -> None:
    """A kind; a custom milestone asks for its title first."""
    kind = callback_data.kind
    await callback.answer()
    await state.update_data(kind=kind)
    if kind == "custom":
        await state.set_state(CampaignForm.title)
        await callback.message.answer(_("Gõ tên mốc (tối đa 200 ký tự)."), reply_markup=_keyboard())
        return
    await _ask_day(callback.message, session, state)


async def typed_title(message: Message, session: AsyncSession, state: FSMContext) -> None:
    """The custom milestone's title."""
    title = unicodedata.normalize("NFC", " ".join((message.text or "").split()))
    if not title or len(title) > MAX_TITLE:
        await message.answer(_("Tên mốc cần từ 1 đến 200 ký tự. Gõ lại, hoặc bấm Đóng."))
        return
    await state.update_data(title=title)
    await _ask_day(message, session, state)


async def _ask_day(message: Message, session: AsyncSession, state: FSMContext) -> None:
    data, _area, _campaign, year = await _context(session, state)
    await state.set_state(CampaignForm.day)
    rows = []
    if data["kind"] in DEFAULT_DAYS:  # the festival, the recognition's periods and deadlines
        default = date(year, *DEFAULT_DAYS[data["kind"]])
        rows.append([button(f"{default:%d/%m/%Y}", Step(action="festival"))])
    await message.answer(_("Gõ ngày của mốc dạng DD/MM/YYYY (trong năm {year}).").format(year=year),
                         reply_markup=_keyboard(*rows))


async def festival_day(
    callback: CallbackQuery, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings, catalog: Catalog, after_commit: AfterCommit,
) -> None:
    """The festival's own day, 19 August."""
    await callback.answer()
    await _add_milestone(callback.message, session, member, state, settings, catalog, None,
                         after_commit)


async def typed_day(message: Message, session: AsyncSession, member: Member, state: FSMContext,
                    settings: Settings, catalog: Catalog, after_commit: AfterCommit) -> None:
    """The milestone's date."""
    day = parse_day(message.text or "")
    await _add_milestone(message, session, member, state, settings, catalog, day, after_commit)


async def _add_milestone(
    message: Message, session: AsyncSession, member: Member, state: FSMContext, settings: Settings,
    catalog: Catalog, day: date | None, after_commit: AfterCommit,
) -> None:
    # The area was within the member's scope when the calendar opened; their role may have
    # moved since, so the service checks again.
    data, area, _campaign, year = await _context(session, state)
    if "kind" not in data or year is None:
        await state.clear()
        await message.answer(str(STALE))
        return
    milestone, new, created = await add_milestone_in_year(
        session, area, year, data["kind"], day, data.get("title"), settings.tz, settings.quiet,
        newest_pledge_version(catalog), member)
    await state.set_state(CampaignForm.menu)
    await state.update_data(campaign_id=milestone.campaign_id)
    text = _("Đã thêm mốc {title} ngày {day}.") if new else _("Đã dời mốc {title} sang ngày {day}; "
                                                           "các lời nhắc của mốc được tính lại.")
    lines = [text.format(title=hd.quote(milestone_title(milestone, _)),
                         day=f"{milestone.happens_on:%d/%m/%Y}")]
    if created:
        lines.insert(0, _("Đã tạo chiến dịch năm {year} cho {area}.").format(
            year=year, area=hd.quote(area.name)))
    after_commit.call(
        message.answer, "\n".join(lines),
        reply_markup=_keyboard([button(_("Thêm lời nhắc cho mốc này"), MilestoneChoice(milestone=milestone.id))]))


async def ask_milestone(
    callback: CallbackQuery, session: AsyncSession, state: FSMContext, settings: Settings, clock: "Clock"
) -> None:
    """Which milestone the reminder hangs off (upcoming ones)."""
    await callback.answer()
    _data, area, campaign, _year = await _context(session, state)
    now = today(clock, settings)
    milestones = await milestones_for(session, campaign, area) if campaign else []
    upcoming = [m for m in milestones if m.happens_on >= now]
    if not upcoming:
        await callback.message.answer(_("Chưa có mốc nào sắp tới. Hãy thêm mốc trước."),
                                      reply_markup=_menu_keyboard())
        return
    await state.set_state(CampaignForm.milestone)
    rows = [[button(f"{m.happens_on:%d/%m} {milestone_title(m, _)}"[:60], MilestoneChoice(milestone=m.id))]
            for m in upcoming[:10]]
    await callback.message.answer(_("Nhắc cho mốc nào?"), reply_markup=_keyboard(*rows))


async def choose_milestone(
    callback: CallbackQuery, callback_data: MilestoneChoice, session: AsyncSession, state: FSMContext
) -> None:
    """The milestone; then how many days before."""
    data, area, campaign, _year = await _context(session, state)
    milestone = await get_milestone(session, callback_data.milestone)
    if (milestone is None or campaign is None or milestone.campaign_id != campaign.id
            or not milestone.area.contains(area)):
        await callback.answer(str(STALE), show_alert=True)
        return
    await callback.answer()
    await state.update_data(milestone_id=milestone.id)
    await state.set_state(CampaignForm.offset)
    # No buttons here: on Zalo and the console a typed "5" would press the fifth option
    # instead of meaning five days.
    await callback.message.answer(
        _("Nhắc trước mốc bao nhiêu ngày? Gõ một số từ 0 đến {limit}, ví dụ 7 (0 là đúng ngày "
          "của mốc), hoặc /cancel để thôi.").format(limit=MAX_DAYS_BEFORE))


async def typed_offset(message: Message, state: FSMContext) -> None:
    """Days before, typed (0 to 90); then the time of day."""
    days = parse_days_before(message.text or "")
    await _ask_time(message, state, days)


async def _ask_time(message: Message, state: FSMContext, days: int) -> None:
    await state.update_data(days=days)
    await state.set_state(CampaignForm.at)
    rows = [[button(at, TimeChoice(at=at.replace(":", ""))) for at in TIMES]]
    await message.answer(_("{offset}. Gửi lúc mấy giờ? Chọn, hoặc gõ giờ dạng HH:MM.").format(
        offset=_offset_label(days)), reply_markup=_keyboard(*rows))


async def choose_time(callback: CallbackQuery, callback_data: TimeChoice, state: FSMContext) -> None:
    """A preset time of day."""
    await callback.answer()
    await _ask_audience(callback.message, state, f"{callback_data.at[:2]}:{callback_data.at[2:]}")


async def typed_time(message: Message, state: FSMContext) -> None:
    """A typed time of day."""
    await _ask_audience(message, state, message.text or "")


async def _ask_audience(message: Message, state: FSMContext, text: str) -> None:
    at = parse_hhmm(text)
    if at is None:
        await message.answer(_("Hãy gõ giờ dạng HH:MM, ví dụ 08:00."))
        return
    await state.update_data(at=f"{at:%H:%M}")
    await state.set_state(CampaignForm.audience)
    rows = [[button(_(AUDIENCE_LABELS[a]), AudienceChoice(audience=a))] for a in AUDIENCES]
    await message.answer(_("Nhắc ai?"), reply_markup=_keyboard(*rows))


async def choose_audience(
    callback: CallbackQuery, callback_data: AudienceChoice, session: AsyncSession, member: Member,
    state: FSMContext, settings: Settings, clock: "Clock", after_commit: AfterCommit,
) -> None:
    """The audience; the reminder is saved and planned."""
    audience = callback_data.audience
    data, area, _campaign, _year = await _context(session, state)
    if not {"milestone_id", "days", "at"} <= data.keys():
        await callback.answer(str(STALE), show_alert=True)
        return
    await callback.answer()
    milestone = await get_milestone(session, data["milestone_id"])
    spec = ReminderSpec(data["days"], parse_hhmm(data["at"]), audience)
    reminder = await add_reminder(session, milestone, area, spec, None, member, clock.now(),
                                  settings.tz, settings.quiet)
    await state.set_state(CampaignForm.menu)
    after_commit.call(
        callback.message.answer,
        _("Đã đặt lời nhắc #{id} “{title}” lúc {when} cho {audience} ({area}).").format(
            id=reminder.id, title=hd.quote(milestone_title(milestone, _)),
            when=f"{reminder.due_at.astimezone(settings.tz):%H:%M %d/%m/%Y}",
            audience=_(AUDIENCE_LABELS[audience]).lower(), area=hd.quote(area.name)),
        reply_markup=_menu_keyboard())


def _reminder_label(reminder: Reminder, settings: Settings) -> str:
    return _("#{id} {when} · {title} · {audience}").format(
        id=reminder.id, when=_when(reminder, settings),
        title=milestone_title(reminder.milestone, _), audience=_(AUDIENCE_LABELS[reminder.audience]))


async def ask_removal(
    callback: CallbackQuery, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings,
) -> None:
    """The calendar's reminders not sent yet that the member may remove."""
    await callback.answer()
    _data, area, campaign, _year = await _context(session, state)
    milestones = await milestones_for(session, campaign, area) if campaign else []
    removable = [r for r in await reminders_for(session, milestones, area)
                 if r.status != "sent" and may_remove(member, r)]
    if not removable:
        await callback.message.answer(_("Không có lời nhắc nào chưa gửi để xóa."),
                                      reply_markup=_menu_keyboard())
        return
    rows = [[button(short(_reminder_label(r, settings), 60), Removal(action="rm", reminder=r.id))] for r in removable[:10]]
    await callback.message.answer(_("Xóa lời nhắc nào?"), reply_markup=_keyboard(*rows))


async def confirm_removal(
    callback: CallbackQuery, callback_data: Removal, session: AsyncSession, member: Member, settings: Settings
) -> None:
    """Ask once more before removing."""
    reminder = await session.get(Reminder, callback_data.reminder)
    if reminder is None or not may_remove(member, reminder):
        await callback.answer(_("Không có lời nhắc #{id} mà bạn được phép xóa.").format(
            id=callback_data.reminder), show_alert=True)
        return
    await callback.answer()
    await callback.message.answer(
        _("Xóa lời nhắc {reminder} ({area})? Lời nhắc sẽ không được gửi.").format(
            reminder=hd.quote(_reminder_label(reminder, settings)), area=hd.quote(reminder.area.name)),
        reply_markup=_keyboard([button(_("Xóa lời nhắc này"), Removal(action="rmok", reminder=reminder.id))]))


async def remove(
    callback: CallbackQuery, callback_data: Removal, session: AsyncSession, member: Member,
    after_commit: AfterCommit,
) -> None:
    """Remove the reminder; the scheduler drops its job when it next plans."""
    await callback.answer()
    reminder = await remove_reminder(session, member, callback_data.reminder)
    after_commit.call(callback.message.answer,
                      _("Đã xóa lời nhắc #{id}; sẽ không gửi.").format(id=reminder.id),
                      reply_markup=_menu_keyboard())


async def close(callback: CallbackQuery, state: FSMContext) -> None:
    """Leave the calendar."""
    await state.clear()
    await callback.answer()
    await callback.message.answer(_("Đã đóng lịch chiến dịch."))


def router() -> Router:
    """The /campaign router (officers and admins)."""
    router = Router(name="campaign")
    staff = requires(*OFFICER_ROLES)
    form = StateFilter(CampaignForm)
    callbacks = router.callback_query
    # Typed steps read text, never a command: /cancel, /id … keep their meaning.
    typed = not_a_command()
    router.message.register(show, Command("campaign"), flags=COMMANDS["campaign"].flags)
    callbacks.register(close, form, Step.filter(F.action == "close"), flags=staff)
    callbacks.register(choose_year, form, YearChoice.filter(), flags=staff)
    callbacks.register(ask_kind, CampaignForm.menu, Step.filter(F.action == "add"), flags=staff)
    callbacks.register(ask_milestone, CampaignForm.menu, Step.filter(F.action == "remind"), flags=staff)
    callbacks.register(ask_removal, CampaignForm.menu, Step.filter(F.action == "rm"), flags=staff)
    callbacks.register(confirm_removal, form, Removal.filter(F.action == "rm"), flags=staff)
    callbacks.register(remove, form, Removal.filter(F.action == "rmok"), flags=staff)
    callbacks.register(choose_kind, CampaignForm.kind, KindChoice.filter(), flags=staff)
    router.message.register(typed_title, CampaignForm.title, typed, flags=staff)
    callbacks.register(festival_day, CampaignForm.day, Step.filter(F.action == "festival"), flags=staff)
    router.message.register(typed_day, CampaignForm.day, typed, flags=staff)
    callbacks.register(choose_milestone, StateFilter(CampaignForm.menu, CampaignForm.milestone),
                       MilestoneChoice.filter(), flags=staff)
    router.message.register(typed_offset, CampaignForm.offset, typed, flags=staff)
    callbacks.register(choose_time, CampaignForm.at, TimeChoice.filter(), flags=staff)
    router.message.register(typed_time, CampaignForm.at, typed, flags=staff)
    callbacks.register(choose_audience, CampaignForm.audience, AudienceChoice.filter(), flags=staff)
    return router
