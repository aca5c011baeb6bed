"""/campaign: officers and admins see the campaign calendar and add milestones and reminders."""

import unicodedata
from datetime import date
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from bot.middlewares.transaction import AfterCommit
from bot.settings import Settings
from db.models import AUDIENCES, MILESTONE_KINDS, Area, Campaign, Member
from db.services.audiences import AUDIENCE_LABELS
from db.services.campaigns import current_campaign
from db.services.milestones import (
    FESTIVAL_DAY,
    KIND_TITLES,
    MAX_TITLE,
    ReminderSpec,
    add_milestone,
    add_reminder,
    get_milestone,
    milestone_title,
    milestones_for,
    reminders_for,
)
from db.services.schedule_times import parse_day, parse_hhmm
from db.text import Problem
from handlers.area import area_in_scope
from handlers.commands import COMMANDS, requires
from handlers.keyboards import button
from handlers.labels import render_problem
from handlers.ui import whole_number

if TYPE_CHECKING:
    from scheduler.clock import Clock

OFFICERS = ("officer", "admin")
OFFSETS = (7, 3, 1, 0)
TIMES = ("07:00", "08:00", "19:00")
REMINDER_STATUS = {"planned": __("đã hẹn"), "sent": __("đã gửi"), "missed": __("bỏ lỡ")}


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
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [button(_("Đóng"), "cp:close")]])


def _offset_label(days: int) -> str:
    return _("Đúng ngày") if days == 0 else _("Trước {days} ngày").format(days=days)


async def _calendar_text(session: AsyncSession, campaign: Campaign, area: Area, settings: Settings) -> str:
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
                status = _("đã gửi tới {count} người").format(count=reminder.recipients or 0)
            lines.append("   ⏰ " + _("{when} · {offset} · {audience} · {area} — {status}").format(
                when=f"{reminder.due_at.astimezone(settings.tz):%H:%M %d/%m}",
                offset=_offset_label(reminder.days_before),
                audience=_(AUDIENCE_LABELS[reminder.audience]), area=hd.quote(reminder.area.name),
                status=status))
    return "\n".join(lines)


def _menu_keyboard() -> InlineKeyboardMarkup:
    return _keyboard([button(_("Thêm mốc"), "cp:add")], [button(_("Thêm lời nhắc"), "cp:remind")])


async def show(
    message: Message, command: CommandObject, session: AsyncSession, member: Member,
    state: FSMContext, settings: Settings, clock: "Clock",
) -> None:
    """The current campaign's calendar for the member's area (or a code within their scope)."""
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
    today = clock.now().astimezone(settings.tz).date()
    campaign = await current_campaign(session, area, today)
    if campaign is None:
        await message.answer(_("{area} chưa có chiến dịch nào đang chạy. Quản trị viên tạo bằng lệnh "
                               "binhyen campaign milestone add --area {code} …").format(
            area=hd.quote(area.name), code=area.code))
        return
    await state.set_state(CampaignForm.menu)
    await state.set_data({"area_id": area.id, "campaign_id": campaign.id})
    await message.answer(await _calendar_text(session, campaign, area, settings),
                         reply_markup=_menu_keyboard())


async def _context(session: AsyncSession, state: FSMContext) -> tuple[dict, Area, Campaign]:
    data = await state.get_data()
    return data, await session.get(Area, data["area_id"]), await session.get(Campaign, data["campaign_id"])


async def ask_kind(callback: CallbackQuery, state: FSMContext) -> None:
    """Which milestone."""
    await callback.answer()
    await state.set_state(CampaignForm.kind)
    rows = [[button(_(KIND_TITLES[kind]), f"cp:kind:{kind}")] for kind in MILESTONE_KINDS]
    await callback.message.answer(_("Thêm mốc nào?"), reply_markup=_keyboard(*rows))


async def choose_kind(callback: CallbackQuery, session: AsyncSession, state: FSMContext) -> None:
    """A kind; a custom milestone asks for its title first."""
    kind = callback.data.removeprefix("cp:kind:")
    if kind not in MILESTONE_KINDS:
        await callback.answer(_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh."),
                              show_alert=True)
        return
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
    if not title or title.startswith("/") or len(title) > MAX_TITLE:
        await message.answer(_("Tên mốc cần từ 1 đến 200 ký tự. Gõ lại, hoặc bấm Đóng."))
        return
    await state.update_data(title=title)
    await _ask_day(message, session, state)


async def _ask_day(message: Message, session: AsyncSession, state: FSMContext) -> None:
    data, _area, campaign = await _context(session, state)
    await state.set_state(CampaignForm.day)
    rows = []
    if data["kind"] == "festival_day":
        festival = date(campaign.year, *FESTIVAL_DAY)
        rows.append([button(f"{festival:%d/%m/%Y}", "cp:festival")])
    await message.answer(_("Gõ ngày của mốc dạng DD/MM/YYYY."), reply_markup=_keyboard(*rows))


async def festival_day(
    callback: CallbackQuery, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings, after_commit: AfterCommit,
) -> None:
    """The festival's own day, 19 August."""
    await callback.answer()
    await _add_milestone(callback.message, session, member, state, settings, None, after_commit)


async def typed_day(message: Message, session: AsyncSession, member: Member, state: FSMContext,
                    settings: Settings, after_commit: AfterCommit) -> None:
    """The milestone's date."""
    try:
        day = parse_day(message.text or "")
    except Problem as problem:
        await message.answer(render_problem(problem))
        return
    await _add_milestone(message, session, member, state, settings, day, after_commit)


async def _add_milestone(
    message: Message, session: AsyncSession, member: Member, state: FSMContext, settings: Settings,
    day: date | None, after_commit: AfterCommit,
) -> None:
    # The area was within the member's scope when the calendar opened; their role may have
    # moved since, so the service checks again.
    data, area, campaign = await _context(session, state)
    try:
        milestone, new = await add_milestone(session, campaign, area, data["kind"], day,
                                             data.get("title"), settings.tz, settings.quiet, member)
    except Problem as problem:
        await message.answer(render_problem(problem))
        return
    await state.set_state(CampaignForm.menu)
    text = _("Đã thêm mốc {title} ngày {day}.") if new else _("Đã dời mốc {title} sang ngày {day}; "
                                                           "các lời nhắc của mốc được tính lại.")
    after_commit.call(
        message.answer,
        text.format(title=hd.quote(milestone_title(milestone, _)), day=f"{milestone.happens_on:%d/%m/%Y}"),
        reply_markup=_keyboard([button(_("Thêm lời nhắc cho mốc này"), f"cp:ms:{milestone.id}")]))


async def ask_milestone(
    callback: CallbackQuery, session: AsyncSession, state: FSMContext, settings: Settings, clock: "Clock"
) -> None:
    """Which milestone the reminder hangs off (upcoming ones)."""
    await callback.answer()
    _data, area, campaign = await _context(session, state)
    today = clock.now().astimezone(settings.tz).date()
    upcoming = [m for m in await milestones_for(session, campaign, area) if m.happens_on >= today]
    if not upcoming:
        await callback.message.answer(_("Chưa có mốc nào sắp tới. Hãy thêm mốc trước."),
                                      reply_markup=_menu_keyboard())
        return
    await state.set_state(CampaignForm.milestone)
    rows = [[button(f"{m.happens_on:%d/%m} {milestone_title(m, _)}"[:60], f"cp:ms:{m.id}")]
            for m in upcoming[:10]]
    await callback.message.answer(_("Nhắc cho mốc nào?"), reply_markup=_keyboard(*rows))


async def choose_milestone(callback: CallbackQuery, session: AsyncSession, state: FSMContext) -> None:
    """The milestone; then how many days before."""
    milestone_id = whole_number(callback.data.removeprefix("cp:ms:"))
    data, area, campaign = await _context(session, state)
    milestone = await get_milestone(session, milestone_id) if milestone_id else None
    if milestone is None or milestone.campaign_id != campaign.id or not milestone.area.contains(area):
        await callback.answer(_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh."),
                              show_alert=True)
        return
    await callback.answer()
    await state.update_data(milestone_id=milestone.id)
    await state.set_state(CampaignForm.offset)
    rows = [[button(_offset_label(days), f"cp:off:{days}")] for days in OFFSETS]
    await callback.message.answer(_("Nhắc khi nào?"), reply_markup=_keyboard(*rows))


async def choose_offset(callback: CallbackQuery, state: FSMContext) -> None:
    """Days before; then the time of day."""
    days = whole_number(callback.data.removeprefix("cp:off:"))
    if days not in OFFSETS:
        await callback.answer(_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh."),
                              show_alert=True)
        return
    await callback.answer()
    await state.update_data(days=days)
    await state.set_state(CampaignForm.at)
    rows = [[button(at, f"cp:at:{at}") for at in TIMES]]
    await callback.message.answer(_("Gửi lúc mấy giờ? Chọn, hoặc gõ giờ dạng HH:MM."),
                                  reply_markup=_keyboard(*rows))


async def choose_time(callback: CallbackQuery, state: FSMContext) -> None:
    """A preset time of day."""
    await callback.answer()
    await _ask_audience(callback.message, state, callback.data.removeprefix("cp:at:"))


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
    rows = [[button(_(AUDIENCE_LABELS[a]), f"cp:aud:{a}")] for a in AUDIENCES]
    await message.answer(_("Nhắc ai?"), reply_markup=_keyboard(*rows))


async def choose_audience(
    callback: CallbackQuery, session: AsyncSession, member: Member, state: FSMContext,
    settings: Settings, clock: "Clock", after_commit: AfterCommit,
) -> None:
    """The audience; the reminder is saved and planned."""
    audience = callback.data.removeprefix("cp:aud:")
    data, area, _campaign = await _context(session, state)
    if audience not in AUDIENCES or "milestone_id" not in data:
        await callback.answer(_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh."),
                              show_alert=True)
        return
    await callback.answer()
    milestone = await get_milestone(session, data["milestone_id"])
    spec = ReminderSpec(data["days"], parse_hhmm(data["at"]), audience)
    try:
        reminder = await add_reminder(session, milestone, area, spec, None, member, clock.now(),
                                      settings.tz, settings.quiet)
    except Problem as problem:
        await callback.message.answer(render_problem(problem))
        return
    await state.set_state(CampaignForm.menu)
    after_commit.call(
        callback.message.answer,
        _("Đã đặt lời nhắc “{title}” lúc {when} cho {audience} ({area}).").format(
            title=hd.quote(milestone_title(milestone, _)),
            when=f"{reminder.due_at.astimezone(settings.tz):%H:%M %d/%m/%Y}",
            audience=_(AUDIENCE_LABELS[audience]).lower(), area=hd.quote(area.name)),
        reply_markup=_menu_keyboard())


async def close(callback: CallbackQuery, state: FSMContext) -> None:
    """Leave the calendar."""
    await state.clear()
    await callback.answer()
    await callback.message.answer(_("Đã đóng lịch chiến dịch."))


def router() -> Router:
    """The /campaign router (officers and admins)."""
    router = Router(name="campaign")
    staff = requires(*OFFICERS)
    form = StateFilter(CampaignForm)
    callbacks = router.callback_query
    router.message.register(show, Command("campaign"), flags=COMMANDS["campaign"].flags)
    callbacks.register(close, form, F.data == "cp:close", flags=staff)
    callbacks.register(ask_kind, CampaignForm.menu, F.data == "cp:add", flags=staff)
    callbacks.register(ask_milestone, CampaignForm.menu, F.data == "cp:remind", flags=staff)
    callbacks.register(choose_kind, CampaignForm.kind, F.data.startswith("cp:kind:"), flags=staff)
    router.message.register(typed_title, CampaignForm.title, flags=staff)
    callbacks.register(festival_day, CampaignForm.day, F.data == "cp:festival", flags=staff)
    router.message.register(typed_day, CampaignForm.day, flags=staff)
    callbacks.register(choose_milestone, StateFilter(CampaignForm.menu, CampaignForm.milestone),
                       F.data.startswith("cp:ms:"), flags=staff)
    callbacks.register(choose_offset, CampaignForm.offset, F.data.startswith("cp:off:"), flags=staff)
    callbacks.register(choose_time, CampaignForm.at, F.data.startswith("cp:at:"), flags=staff)
    router.message.register(typed_time, CampaignForm.at, flags=staff)
    callbacks.register(choose_audience, CampaignForm.audience, F.data.startswith("cp:aud:"), flags=staff)
    return router
