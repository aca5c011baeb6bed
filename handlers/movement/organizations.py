"""Agencies, enterprises and schools in chat: the representative joins with the unit's code and
registers it by confirming its pledge (/org); officers list their units, record a registration
made on paper and withdraw one with a reason (/orgs)."""

from typing import Literal

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.commands import COMMANDS, requires
from base.formatting import local_date, short, today
from base.labels import ROLE_LABELS
from base.paging import fetch_page
from base.preferences import prefs_key, remembered_locale
from base.settings import Settings
from content.catalog import Catalog
from db.models import Area, Member, Organization, OrganizationRegistration
from db.services.areas import children
from db.services.campaigns import current_campaign
from db.services.criteria import RecognitionUnit
from db.services.joining import give_consent, has_consented
from db.services.members import OFFICER_ROLES, scope_covers
from db.services.organizations import (
    KIND_LABELS,
    become_representative,
    may_record,
    organizations_in,
    register,
    registration_of,
    registration_place,
    registrations_of,
    represented,
    withdraw,
)
from db.services.recognition import campaign_of, unit_checklist
from db.text import N_, Problem
from handlers.areas.area import area_in_scope, join_lines
from handlers.common.callbacks import Id, Page
from handlers.common.keyboards import keyboard, not_a_command, pager
from handlers.movement.recognition import card_text

PAGE = 10
NO_TEXT = N_("Chưa có văn bản đăng ký cho đơn vị trong đợt thi đua này. Bạn báo công an xã giúp.")


class Represent(CallbackData, prefix="oj"):
    """Joining as the representative of an organization: agree, or not."""

    action: Literal["yes", "no"]
    org: Id


class UnitPledge(CallbackData, prefix="op"):
    """The representative confirms the unit's registration, or withdraws it."""

    action: Literal["confirm", "withdraw"]
    org: Id


class Desk(CallbackData, prefix="od"):
    """An officer opens a unit, records its paper registration, or withdraws it."""

    action: Literal["open", "paper", "withdraw"]
    org: Id


class DeskPage(CallbackData, prefix="odp"):
    """A page of an area's units."""

    area: Id
    page: Page


class UnitChecklist(CallbackData, prefix="oc"):
    """The representative sees the unit's recognition checklist."""

    org: Id


class OrgForm(StatesGroup):
    """Waiting for the reason of a withdrawal (the data holds the unit's id)."""

    reason = State()


def kind_label(organization: Organization) -> str:
    """"Cơ quan", "Doanh nghiệp" or "Cơ sở giáo dục"."""
    return _(KIND_LABELS[organization.kind])


def unit_line(organization: Organization) -> str:
    """The unit's name, kind and commune."""
    return _("<b>{name}</b> ({kind}, {commune})").format(
        name=hd.quote(organization.name), kind=kind_label(organization).lower(),
        commune=hd.quote(organization.commune.name))


def registration_line(registration: OrganizationRegistration | None, year: int, settings: Settings) -> str:
    """Where the unit's registration for the year stands, never naming who made it."""
    if registration is None:
        return _("Đơn vị chưa đăng ký phong trào năm {year}.").format(year=year)
    if registration.status == "withdrawn":
        return _("Đơn vị đã rút đăng ký ngày {date}. Lý do: {reason}").format(
            date=local_date(registration.withdrawn_at, settings), reason=hd.quote(registration.withdraw_reason or ""))
    if registration.via == "paper":
        return _("✅ Đơn vị đã đăng ký phong trào năm {year} trên giấy, {role} ghi nhận ngày {date}.").format(
            year=year, role=str(ROLE_LABELS.get(registration.confirmed_by_role, registration.confirmed_by_role)).lower(),
            date=local_date(registration.confirmed_at, settings))
    return _("✅ Đơn vị đã đăng ký phong trào năm {year} ngày {date} (người đại diện xác nhận).").format(
        year=year, date=local_date(registration.confirmed_at, settings))


def representation_notice() -> str:
    """What Bình Yên stores about a representative, and why."""
    return _(
        "Bình Yên sẽ lưu mã tài khoản của bạn trên ứng dụng nhắn tin, ngôn ngữ bạn chọn và việc bạn "
        "là người đại diện của đơn vị, để bạn đăng ký đơn vị tham gia phong trào và xem tiêu chí "
        "“An toàn về an ninh, trật tự” của đơn vị. Bình Yên không lưu họ tên hay số điện thoại của "
        "bạn. Xem lại bằng /privacy, xóa bằng /forget."
    )


async def offer_representation(message: Message, organization: Organization, member: Member | None,
                               state: FSMContext) -> None:
    """/join CODE with an organization's code: ask whether the user represents it (and agrees
    to what is stored, when they have not yet)."""
    await state.clear()
    lines = [_("Mã này là của {unit}. Chỉ người đại diện của đơn vị (thủ trưởng hoặc người được "
               "giao) đăng ký đơn vị tham gia phong trào.").format(unit=unit_line(organization))]
    if not has_consented(member):
        lines += ["", representation_notice()]
    await message.answer("\n".join(lines), reply_markup=keyboard(
        [(_("✅ Tôi là người đại diện, đồng ý"), Represent(action="yes", org=organization.id))],
        [(_("Không"), Represent(action="no", org=organization.id))]))


async def represent(
    callback: CallbackQuery, callback_data: Represent, session: AsyncSession, member: Member | None,
    channel: str, channel_user_id: str, fsm_storage: BaseStorage, after_commit: AfterCommit,
    catalog: Catalog, i18n: I18n, clock: Clock, settings: Settings,
) -> None:
    """The user represents the organization (or not: nothing is stored)."""
    await callback.answer()
    organization = await session.get(Organization, callback_data.org)
    if callback_data.action == "no" or organization is None:
        await callback.message.answer(_("Bình Yên không lưu gì thêm. Người đại diện của đơn vị gõ /join "
                                        "MÃ để đăng ký đơn vị."))
        return
    if not has_consented(member):
        key = prefs_key(callback.bot.id, callback.message.chat.id, callback.from_user.id)
        member = await give_consent(session, channel, channel_user_id, await remembered_locale(fsm_storage, key))
    await become_representative(session, member, organization)
    after_commit.call(callback.message.answer, _(
        "✅ Bạn là người đại diện của {unit} trên Bình Yên.").format(unit=unit_line(organization)))
    text, markup = await unit_status(session, organization, catalog, i18n, clock, settings)
    after_commit.call(callback.message.answer, text, reply_markup=markup)


async def unit_status(session: AsyncSession, organization: Organization, catalog: Catalog, i18n: I18n,
                      clock: Clock, settings: Settings):
    """The unit's registration text, its status and the button that fits it."""
    place = await registration_place(session, organization, today(clock, settings))
    text = catalog.organization_pledge(place.campaign.pledge_version, i18n.current_locale)
    if text is None:
        raise Problem(NO_TEXT)
    registration = place.registration
    if registration is not None and registration.status == "confirmed":
        button = (_("Rút đăng ký"), UnitPledge(action="withdraw", org=organization.id))
    else:
        button = (_("✅ Đơn vị xác nhận đăng ký"), UnitPledge(action="confirm", org=organization.id))
    body = (f"{unit_line(organization)}\n\n<b>{hd.quote(text.title)}</b>\n\n{text.html}\n\n"
            + registration_line(registration, place.campaign.year, settings))
    return body, keyboard([button], [(_("📋 Tiêu chí “An toàn về an ninh, trật tự”"), UnitChecklist(org=organization.id))])


async def show_org(message: Message, session: AsyncSession, member: Member | None, catalog: Catalog,
                   i18n: I18n, clock: Clock, settings: Settings, state: FSMContext) -> None:
    """/org: the unit the member represents, its registration and what to press."""
    await state.clear()
    organization = await represented(session, member)
    if organization is None:
        await message.answer(_("Bạn chưa là người đại diện của cơ quan, doanh nghiệp hay trường học nào. "
                               "Người đại diện gõ /join MÃ (mã in trên áp phích của đơn vị, công an xã cấp)."))
        return
    text, markup = await unit_status(session, organization, catalog, i18n, clock, settings)
    await message.answer(text, reply_markup=markup)


async def confirm_unit(
    callback: CallbackQuery, callback_data: UnitPledge, session: AsyncSession, member: Member | None,
    catalog: Catalog, i18n: I18n, clock: Clock, settings: Settings, after_commit: AfterCommit,
) -> None:
    """The representative confirms: the unit is registered for the campaign."""
    await callback.answer()
    organization = await represented(session, member)
    if organization is None or organization.id != callback_data.org:
        await callback.message.answer(_("Bạn không phải người đại diện của đơn vị này."))
        return
    place = await registration_place(session, organization, today(clock, settings))
    if catalog.organization_pledge(place.campaign.pledge_version, i18n.current_locale) is None:
        await callback.message.answer(_(NO_TEXT))
        return
    registration, created = await register(session, member, place, i18n.current_locale, "chat")
    if created:
        after_commit.call(callback.message.answer, _(
            "✅ Cảm ơn! {unit} đã đăng ký thi đua “An toàn về an ninh, trật tự” năm {year} ngày {date}."
        ).format(unit=unit_line(organization), year=place.campaign.year,
                 date=local_date(registration.confirmed_at, settings)))
    else:
        await callback.message.answer(_("Đơn vị đã đăng ký trước đó rồi.") + "\n"
                                      + registration_line(registration, place.campaign.year, settings))


async def ask_unit_reason(callback: CallbackQuery, callback_data: UnitPledge | Desk, session: AsyncSession,
                          member: Member | None, clock: Clock, settings: Settings, state: FSMContext) -> None:
    """Withdrawing (the representative, or an officer): ask why."""
    await callback.answer()
    organization = await session.get(Organization, callback_data.org)
    if organization is None or (member is None or (
            member.organization_id != organization.id and not may_record(member, organization))):
        await callback.message.answer(_("Đơn vị này không thuộc địa bàn bạn phụ trách."))
        return
    place = await registration_place(session, organization, today(clock, settings))
    if place.registration is None or place.registration.status != "confirmed":
        await callback.message.answer(_("{name} chưa đăng ký nên không có gì để rút.").format(
            name=hd.quote(organization.name)))
        return
    await state.set_state(OrgForm.reason)
    await state.set_data({"org_id": organization.id})
    await callback.message.answer(_("Vì sao {name} rút đăng ký? Gõ lý do (hoặc /cancel để thôi).").format(
        name=hd.quote(organization.name)))


async def typed_reason(message: Message, session: AsyncSession, member: Member | None, clock: Clock,
                       settings: Settings, state: FSMContext, after_commit: AfterCommit) -> None:
    """The reason typed: withdraw."""
    organization = await session.get(Organization, (await state.get_data()).get("org_id", 0))
    if organization is None or member is None:
        await state.clear()
        return
    place = await registration_place(session, organization, today(clock, settings))
    registration = await withdraw(session, member, place, message.text or "")
    await state.clear()
    after_commit.call(message.answer, _("Đã rút đăng ký của {name}. Lý do: {reason}").format(
        name=hd.quote(organization.name), reason=hd.quote(registration.withdraw_reason)))


async def show_checklist(callback: CallbackQuery, callback_data: UnitChecklist, session: AsyncSession,
                         member: Member | None, i18n: I18n, clock: Clock, settings: Settings) -> None:
    """The unit's criteria and where each stands, for its representative."""
    await callback.answer()
    organization = await represented(session, member)
    if organization is None or organization.id != callback_data.org:
        await callback.message.answer(_("Bạn không phải người đại diện của đơn vị này."))
        return
    unit = RecognitionUnit(organization=organization)
    found = await unit_checklist(session, await campaign_of(session, unit, today(clock, settings)), unit)
    await callback.message.answer(card_text(found, i18n.current_locale))


# ---------------------------------------------------------------------------------------------
# Officers: /orgs


async def list_orgs(message: Message, command: CommandObject, session: AsyncSession, member: Member,
                    clock: Clock, settings: Settings) -> None:
    """/orgs [CODE]: the units of the member's area (or the one named), with their registration."""
    code = (command.args or "").strip()
    area = member.area
    if code:
        area = await area_in_scope(message, session, member, code)
        if area is None:
            return
    if area is None:
        provinces = await children(session, None)
        if not provinces:
            await message.answer(_("Chưa có địa bàn nào."))
            return
        area = provinces[0]
    await show_page(message, session, area, 0, clock, settings)


async def show_page(target: Message, session: AsyncSession, area: Area, page: int, clock: Clock,
                    settings: Settings) -> None:
    """One page of the area's units, a button each."""
    organizations, total, page, pages = await fetch_page(
        lambda number: organizations_in(session, area, number, PAGE), page, PAGE)
    if not total:
        await target.answer(_("Chưa có cơ quan, doanh nghiệp, trường học nào ở {area}. Nhập danh sách "
                              "bằng: binhyen orgs import TỆP.csv").format(area=hd.quote(area.name)))
        return
    campaign = await current_campaign(session, area, today(clock, settings))
    registered = await registrations_of(session, campaign, organizations) if campaign else {}
    lines = [_("<b>Cơ quan, doanh nghiệp, trường học — {area}</b> (trang {page}/{pages})").format(
        area=hd.quote(area.name), page=page + 1, pages=pages)]
    if campaign is None:
        lines.append(_("Chưa có đợt thi đua nào đang mở."))
    rows = []
    for organization in organizations:
        registration = registered.get(organization.id)
        mark = "✅" if registration is not None and registration.status == "confirmed" else "⬜"
        rows.append([(short(f"{mark} {organization.name}"), Desk(action="open", org=organization.id))])
    page_row = pager(lambda number: DeskPage(area=area.id, page=number), page, total, PAGE)
    lines.append(_("✅ đã đăng ký, ⬜ chưa. Chọn một đơn vị:"))
    await target.answer("\n".join(lines), reply_markup=keyboard(*rows, page_row))


async def turn_page(callback: CallbackQuery, callback_data: DeskPage, session: AsyncSession, member: Member,
                    clock: Clock, settings: Settings) -> None:
    """◀ / ▶ under the list."""
    await callback.answer()
    area = await session.get(Area, callback_data.area)
    if area is None or not scope_covers(member, area):
        await callback.message.answer(_("Địa bàn này nằm ngoài phạm vi bạn phụ trách."))
        return
    await show_page(callback.message, session, area, callback_data.page, clock, settings)


async def open_org(callback: CallbackQuery, callback_data: Desk, session: AsyncSession, member: Member,
                   clock: Clock, settings: Settings) -> None:
    """One unit: its codes, its registration, and what the officer may record."""
    await callback.answer()
    organization = await session.get(Organization, callback_data.org)
    if organization is None or not may_record(member, organization):
        await callback.message.answer(_("Đơn vị này nằm ngoài phạm vi bạn phụ trách."))
        return
    lines = [unit_line(organization), _("Mã đơn vị: {code}").format(code=organization.code)]
    lines += join_lines(organization.join_code, settings)
    campaign = await current_campaign(session, organization.commune, today(clock, settings))
    rows = []
    if campaign is None:
        lines.append(_("Chưa có đợt thi đua nào đang mở."))
    else:
        registration = await registration_of(session, organization, campaign)
        lines.append(registration_line(registration, campaign.year, settings))
        if registration is not None and registration.status == "confirmed":
            rows.append([(_("Rút đăng ký"), Desk(action="withdraw", org=organization.id))])
        else:
            rows.append([(_("📝 Ghi nhận đăng ký trên giấy"), Desk(action="paper", org=organization.id))])
    await callback.message.answer("\n".join(lines), reply_markup=keyboard(*rows) if rows else None)


async def record_paper(callback: CallbackQuery, callback_data: Desk, session: AsyncSession, member: Member,
                       i18n: I18n, clock: Clock, settings: Settings, after_commit: AfterCommit) -> None:
    """The officer records a registration the unit made on paper."""
    await callback.answer()
    organization = await session.get(Organization, callback_data.org)
    if organization is None or not may_record(member, organization):
        await callback.message.answer(_("Đơn vị này nằm ngoài phạm vi bạn phụ trách."))
        return
    place = await registration_place(session, organization, today(clock, settings))
    registration, created = await register(session, member, place, i18n.current_locale, "paper")
    if created:
        after_commit.call(callback.message.answer, _("✅ Đã ghi nhận {unit} đăng ký phong trào năm {year} trên giấy.").format(
            unit=unit_line(organization), year=place.campaign.year))
    else:
        await callback.message.answer(_("Đơn vị đã đăng ký trước đó rồi.") + "\n"
                                      + registration_line(registration, place.campaign.year, settings))


def router() -> Router:
    """The organizations router."""
    router = Router(name="organizations")
    officers = requires(*OFFICER_ROLES)
    router.message.register(show_org, Command("org"), flags=COMMANDS["org"].flags)
    router.callback_query.register(represent, Represent.filter())
    router.callback_query.register(confirm_unit, UnitPledge.filter(F.action == "confirm"))
    router.callback_query.register(ask_unit_reason, UnitPledge.filter(F.action == "withdraw"))
    router.callback_query.register(show_checklist, UnitChecklist.filter())
    router.message.register(list_orgs, Command("orgs"), flags=COMMANDS["orgs"].flags)
    router.callback_query.register(turn_page, DeskPage.filter(), flags=officers)
    router.callback_query.register(open_org, Desk.filter(F.action == "open"), flags=officers)
    router.callback_query.register(record_paper, Desk.filter(F.action == "paper"), flags=officers)
    router.callback_query.register(ask_unit_reason, Desk.filter(F.action == "withdraw"), flags=officers)
    router.message.register(typed_reason, OrgForm.reason, F.text, not_a_command())
    return router
