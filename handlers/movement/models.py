"""/models: the self-management models of an area. Officers and admins add them and review them
(status, numbers of groups, sites and members, the review date); hamlet heads see their hamlet's;
residents see their hamlet's, with how to take part, from the outreach menu (/learn)."""

from datetime import date
from typing import Literal

from aiogram import Router
from aiogram.filters import Command, CommandObject, StateFilter
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
from base.commands import COMMANDS, requires
from base.formatting import short, today
from base.paging import fetch_page
from base.settings import Settings
from db.models import Area, Member, ModelType, MovementModel, Organization
from db.services.areas import children, get_area, subtree
from db.services.members import OFFICER_ROLES, STAFF_ROLES, scope_covers
from db.services.organizations import get_organization
from db.services.schedule_times import parse_day
from db.services.self_management import (
    MAX_HOW,
    MAX_NAME,
    STATUS_LABELS,
    ModelDraft,
    Unit,
    add_model,
    clean_text,
    get_model,
    may_manage,
    model_types,
    models_in,
    models_of,
    parse_counts,
    review_model,
    unit_of,
    update_counts,
)
from db.text import N_
from handlers.common.callbacks import Id, Page
from handlers.common.keyboards import keyboard, not_a_command, pager

PAGE = 10
MAX_UNIT_BUTTONS = 20
STALE = N_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh.")
STATUS_MARKS = {"effective": "🟢", "active": "🔵", "formal": "🟠", "removed": "⚫"}


class ModelOpen(CallbackData, prefix="mo"):
    """An officer opens one model."""

    model: Id


class ModelReview(CallbackData, prefix="mr"):
    """A review of a model: its new status, its numbers, or only the date."""

    action: Literal["effective", "active", "formal", "removed", "counts", "reviewed"]
    model: Id


class ModelPage(CallbackData, prefix="mp"):
    """A page of an area's models."""

    area: Id
    page: Page


class ModelAdd(CallbackData, prefix="ma"):
    """Start adding a model in an area."""

    area: Id


class ModelUnit(CallbackData, prefix="mu"):
    """The hamlet or commune whose model is being added."""

    area: Id


class ModelTypeChoice(CallbackData, prefix="mt"):
    """The type of the model being added."""

    type: Id


class ModelSkip(CallbackData, prefix="ms"):
    """Leave out an optional step of adding a model."""

    step: Literal["started", "how"]


class ModelMine(CallbackData, prefix="mm"):
    """A resident asks for their hamlet's models."""

    action: Literal["show"] = "show"


class ModelForm(StatesGroup):
    """Adding a model (the data holds the unit, type, name and numbers) or reviewing one."""

    unit = State()
    type = State()
    name = State()
    counts = State()
    started = State()
    how = State()
    review_counts = State()
    review_reason = State()


def status_label(model: MovementModel) -> str:
    """The model's status, with its mark."""
    return f"{STATUS_MARKS[model.status]} {_(STATUS_LABELS[model.status])}"


def model_card(model: MovementModel, locale: str | None, with_how: bool = True) -> str:
    """What one model is: its name, type, unit, numbers, status and review, how to take part."""
    unit = unit_of(model)
    lines = [f"<b>{hd.quote(model.name)}</b>",
             _("Loại: {type}").format(type=hd.quote(model.type.name(locale))),
             _("Đơn vị: {unit} ({code})").format(unit=hd.quote(unit.name), code=unit.code),
             _("{groups} tổ, {sites} điểm, {members} thành viên").format(
                 groups=model.groups, sites=model.sites, members=model.members),
             _("Tình trạng: {status}").format(status=status_label(model))]
    if model.started_on:
        lines.append(_("Bắt đầu: {date}").format(date=f"{model.started_on:%d/%m/%Y}"))
    lines.append(_("Rà soát gần nhất: {date}").format(
        date=f"{model.reviewed_on:%d/%m/%Y}" if model.reviewed_on else _("chưa rà soát")))
    if model.status == "removed" and model.removed_reason:
        lines.append(_("Lý do loại bỏ: {reason}").format(reason=hd.quote(model.removed_reason)))
    if with_how and model.how_to_join:
        lines.append(_("Cách tham gia: {how}").format(how=hd.quote(model.how_to_join)))
    return "\n".join(lines)


async def show_models(message: Message, command: CommandObject, session: AsyncSession, member: Member,
                      i18n: I18n, state: FSMContext) -> None:
    """/models [CODE]: a hamlet head sees their hamlet's models; officers and admins those of their
    area (or the one named), a page at a time, with a button to add one."""
    await state.clear()
    code = (command.args or "").strip()
    area = member.area
    if code:
        area = await get_area(session, code)
        if area is None or not scope_covers(member, area):
            await message.answer(_("Địa bàn {code} nằm ngoài phạm vi bạn phụ trách.").format(code=hd.quote(code[:40])))
            return
    if area is None:
        provinces = await children(session, None)
        if not provinces:
            await message.answer(_("Chưa có địa bàn nào."))
            return
        area = provinces[0]
    if member.role not in OFFICER_ROLES:
        await hamlet_models(message, session, area, i18n.current_locale)
        return
    await show_page(message, session, member, area, 0, i18n.current_locale)


async def hamlet_models(target: Message, session: AsyncSession, hamlet: Area, locale: str | None,
                        for_resident: bool = False) -> None:
    """The models of a hamlet, each with how to take part."""
    models = await models_of(session, Unit(area=hamlet))
    if not models:
        text = _("{hamlet} chưa có mô hình tự quản nào được ghi nhận.").format(hamlet=hd.quote(hamlet.name))
        if for_resident:
            text += " " + _("Bạn hỏi trưởng ấp để cùng tham gia giữ gìn an ninh, trật tự.")
        await target.answer(text)
        return
    lines = [_("<b>Mô hình tự quản của {hamlet}</b>").format(hamlet=hd.quote(hamlet.name))]
    for model in models:
        lines += ["", model_card(model, locale)]
        if for_resident and not model.how_to_join:
            lines.append(_("Cách tham gia: hỏi trưởng ấp."))
    await target.answer("\n".join(lines))


async def show_page(target: Message, session: AsyncSession, member: Member, area: Area, page: int,
                    locale: str | None) -> None:
    """One page of the area's models, a button each, and "add"."""
    models, total, page, pages = await fetch_page(
        lambda number: models_in(session, area, number, PAGE, include_removed=True), page, PAGE)
    lines = [_("<b>Mô hình tự quản — {area}</b>").format(area=hd.quote(area.name))]
    if not total:
        lines.append(_("Chưa có mô hình nào. Thêm bằng nút dưới đây, hoặc nhập tệp: binhyen models import TỆP.csv"))
    else:
        lines.append(_("{total} mô hình (trang {page}/{pages}). 🟢 hiệu quả, 🔵 đang hoạt động, 🟠 hình thức, "
                       "⚫ đã loại bỏ.").format(total=total, page=page + 1, pages=pages))
    rows = [[(short(f"{STATUS_MARKS[m.status]} {m.name} — {unit_of(m).name}"), ModelOpen(model=m.id))]
            for m in models]
    page_row = pager(lambda number: ModelPage(area=area.id, page=number), page, total, PAGE)
    await target.answer("\n".join(lines), reply_markup=keyboard(
        *rows, page_row, [(_("➕ Thêm mô hình"), ModelAdd(area=area.id))]))


async def turn_page(callback: CallbackQuery, callback_data: ModelPage, session: AsyncSession, member: Member,
                    i18n: I18n) -> None:
    """◀ / ▶ under the list."""
    await callback.answer()
    area = await session.get(Area, callback_data.area)
    if area is None or not scope_covers(member, area):
        await callback.message.answer(_("Địa bàn này nằm ngoài phạm vi bạn phụ trách."))
        return
    await show_page(callback.message, session, member, area, callback_data.page, i18n.current_locale)


def _review_keyboard(model: MovementModel):
    def review(label: str, action: str):
        return (label, ModelReview(action=action, model=model.id))

    return keyboard(
        [review(_("🟢 Hiệu quả"), "effective"), review(_("🔵 Đang hoạt động"), "active")],
        [review(_("🟠 Hình thức"), "formal"), review(_("⚫ Loại bỏ"), "removed")],
        [review(_("Cập nhật số tổ, điểm, thành viên"), "counts")],
        [review(_("✅ Đã rà soát hôm nay"), "reviewed")])


async def _managed(callback: CallbackQuery, session: AsyncSession, member: Member, model_id: int) -> MovementModel | None:
    model = await get_model(session, model_id)
    if model is None or not may_manage(member, unit_of(model)):
        await callback.message.answer(_("Mô hình này nằm ngoài phạm vi bạn phụ trách."))
        return None
    return model


async def open_model(callback: CallbackQuery, callback_data: ModelOpen, session: AsyncSession, member: Member,
                     i18n: I18n) -> None:
    """One model, with the review buttons."""
    await callback.answer()
    model = await _managed(callback, session, member, callback_data.model)
    if model is not None:
        await callback.message.answer(model_card(model, i18n.current_locale), reply_markup=_review_keyboard(model))


async def review(callback: CallbackQuery, callback_data: ModelReview, session: AsyncSession, member: Member,
                 i18n: I18n, clock: Clock, settings: Settings, state: FSMContext, after_commit: AfterCommit) -> None:
    """A review button: a new status (removing asks why), new numbers (typed next), or the date."""
    await callback.answer()
    model = await _managed(callback, session, member, callback_data.model)
    if model is None:
        return
    action = callback_data.action
    if action in ("counts", "removed"):
        await state.set_state(ModelForm.review_counts if action == "counts" else ModelForm.review_reason)
        await state.set_data({"model_id": model.id})
        await callback.message.answer(
            _("Gõ ba số cách nhau bởi dấu cách: số tổ, số điểm, số thành viên (ví dụ: 3 5 40).")
            if action == "counts" else
            _("Vì sao loại bỏ mô hình “{name}”? Gõ lý do (hoặc /cancel để thôi).").format(name=hd.quote(model.name)))
        return
    status = model.status if action == "reviewed" else action
    model = await review_model(session, member, model, status, today(clock, settings))
    after_commit.call(callback.message.answer, _("Đã rà soát “{name}”: {status}, ngày {date}.").format(
        name=hd.quote(model.name), status=status_label(model), date=f"{model.reviewed_on:%d/%m/%Y}"))


async def _model_of_form(message: Message, session: AsyncSession, member: Member, state: FSMContext) -> MovementModel | None:
    model = await get_model(session, (await state.get_data()).get("model_id", 0))
    if model is None or not may_manage(member, unit_of(model)):
        await state.clear()
        await message.answer(_("Mô hình này nằm ngoài phạm vi bạn phụ trách."))
        return None
    return model


async def typed_review_counts(message: Message, session: AsyncSession, member: Member, clock: Clock,
                              settings: Settings, state: FSMContext, after_commit: AfterCommit) -> None:
    """The new numbers of groups, sites and members."""
    model = await _model_of_form(message, session, member, state)
    if model is None:
        return
    groups, sites, members = parse_counts(message.text or "")
    await update_counts(session, member, model, groups, sites, members, today(clock, settings))
    await state.clear()
    after_commit.call(message.answer, _("Đã cập nhật “{name}”: {groups} tổ, {sites} điểm, {members} thành viên.").format(
        name=hd.quote(model.name), groups=groups, sites=sites, members=members))


async def typed_removal(message: Message, session: AsyncSession, member: Member, clock: Clock,
                        settings: Settings, state: FSMContext, after_commit: AfterCommit) -> None:
    """Why the model is removed: remove it."""
    model = await _model_of_form(message, session, member, state)
    if model is None:
        return
    await review_model(session, member, model, "removed", today(clock, settings), message.text or "")
    await state.clear()
    after_commit.call(message.answer, _("Đã loại bỏ mô hình “{name}”. Lý do: {reason}").format(
        name=hd.quote(model.name), reason=hd.quote(model.removed_reason)))


# ---------------------------------------------------------------------------------------------
# Adding a model: the unit, the type, the name, the numbers, the start date, how to take part.


async def ask_unit(callback: CallbackQuery, callback_data: ModelAdd, session: AsyncSession, member: Member,
                   state: FSMContext) -> None:
    """Whose model: a hamlet or commune of the area (buttons), or a code typed."""
    await callback.answer()
    area = await session.get(Area, callback_data.area)
    if area is None or not scope_covers(member, area):
        await callback.message.answer(_("Địa bàn này nằm ngoài phạm vi bạn phụ trách."))
        return
    await state.set_state(ModelForm.unit)
    await state.set_data({})
    units = [a for a in await subtree(session, area) if a.level in ("commune", "hamlet")][:MAX_UNIT_BUTTONS]
    await callback.message.answer(
        _("Mô hình của ấp, xã nào? Chọn bên dưới, hoặc gõ mã ấp, xã, hay mã cơ quan, doanh nghiệp, "
          "trường học (/cancel để thôi)."),
        reply_markup=keyboard(*[[(short(f"{unit.name} ({unit.code})"), ModelUnit(area=unit.id))] for unit in units]))


async def _chosen_unit(target: Message, session: AsyncSession, member: Member, state: FSMContext, unit: Unit,
                       locale: str | None) -> None:
    """The unit is chosen (and within scope): ask the type."""
    if not may_manage(member, unit) or (unit.area is not None and unit.area.level not in ("commune", "hamlet")):
        await target.answer(_("Đơn vị {code} nằm ngoài phạm vi bạn phụ trách.").format(code=hd.quote(unit.code)))
        return
    await state.update_data(area_id=unit.area.id if unit.area else None,
                            org_id=unit.organization.id if unit.organization else None)
    await state.set_state(ModelForm.type)
    types = await model_types(session, unit.home)
    await target.answer(_("Mô hình của {unit}. Chọn loại mô hình:").format(unit=hd.quote(unit.name)),
                        reply_markup=keyboard(*[[(short(t.name(locale)), ModelTypeChoice(type=t.id))] for t in types]))


async def choose_unit(callback: CallbackQuery, callback_data: ModelUnit, session: AsyncSession, member: Member,
                      state: FSMContext, i18n: I18n) -> None:
    """A hamlet or commune button."""
    await callback.answer()
    area = await session.get(Area, callback_data.area)
    if area is None:
        await callback.message.answer(_(STALE))
        return
    await _chosen_unit(callback.message, session, member, state, Unit(area=area), i18n.current_locale)


async def typed_unit(message: Message, session: AsyncSession, member: Member, state: FSMContext, i18n: I18n) -> None:
    """A hamlet's, commune's or organization's code typed."""
    code = (message.text or "").strip()[:40]
    area = await get_area(session, code)
    organization = None if area else await get_organization(session, code)
    if area is None and organization is None:
        await message.answer(_("Không có ấp, xã hay đơn vị mã {code}.").format(code=hd.quote(code)))
        return
    await _chosen_unit(message, session, member, state, Unit(area=area, organization=organization),
                       i18n.current_locale)


async def choose_type(callback: CallbackQuery, callback_data: ModelTypeChoice, session: AsyncSession,
                      state: FSMContext) -> None:
    """The type: ask the name."""
    await callback.answer()
    model_type = await session.get(ModelType, callback_data.type)
    if model_type is None:
        await callback.message.answer(_(STALE))
        return
    await state.update_data(type_id=model_type.id)
    await state.set_state(ModelForm.name)
    await callback.message.answer(_("Gõ tên mô hình (tối đa {limit} ký tự), ví dụ “Tổ nhân dân tự quản số 3”.").format(
        limit=MAX_NAME))


async def typed_name(message: Message, state: FSMContext) -> None:
    """The name: ask the numbers."""
    name = clean_text(message.text or "", MAX_NAME, N_("Tên mô hình cần từ 1 đến {limit} ký tự."))
    await state.update_data(name=name)
    await state.set_state(ModelForm.counts)
    await message.answer(_("Gõ ba số cách nhau bởi dấu cách: số tổ, số điểm, số thành viên (ví dụ: 3 5 40)."))


async def typed_counts(message: Message, state: FSMContext) -> None:
    """The numbers: ask the start date."""
    groups, sites, members = parse_counts(message.text or "")
    await state.update_data(counts=[groups, sites, members])
    await state.set_state(ModelForm.started)
    await message.answer(_("Mô hình bắt đầu từ ngày nào? Gõ dạng DD/MM/YYYY."),
                         reply_markup=keyboard([(_("Bỏ qua"), ModelSkip(step="started"))]))


async def _ask_how(message: Message, state: FSMContext) -> None:
    await state.set_state(ModelForm.how)
    await message.answer(_("Bà con tham gia thế nào (họp ở đâu, khi nào, hỏi ai)? Gõ tối đa {limit} ký tự.").format(
        limit=MAX_HOW), reply_markup=keyboard([(_("Bỏ qua"), ModelSkip(step="how"))]))


async def typed_started(message: Message, state: FSMContext) -> None:
    """The start date: ask how residents take part."""
    day = parse_day(message.text or "")
    await state.update_data(started_on=day.isoformat())
    await _ask_how(message, state)


async def skip(callback: CallbackQuery, callback_data: ModelSkip, session: AsyncSession, member: Member,
               state: FSMContext, i18n: I18n, after_commit: AfterCommit) -> None:
    """Leave out the start date, or how to take part (then save)."""
    await callback.answer()
    if callback_data.step == "started":
        await _ask_how(callback.message, state)
    else:
        await _save(callback.message, session, member, state, "", i18n, after_commit)


async def typed_how(message: Message, session: AsyncSession, member: Member, state: FSMContext, i18n: I18n,
                    after_commit: AfterCommit) -> None:
    """How to take part: save the model."""
    await _save(message, session, member, state, message.text or "", i18n, after_commit)


async def _save(message: Message, session: AsyncSession, member: Member, state: FSMContext, how: str, i18n: I18n,
                after_commit: AfterCommit) -> None:
    data = await state.get_data()
    model_type = await session.get(ModelType, data.get("type_id", 0))
    area = await session.get(Area, data["area_id"]) if data.get("area_id") else None
    organization = await session.get(Organization, data["org_id"]) if data.get("org_id") else None
    if model_type is None or (area is None and organization is None) or "counts" not in data:
        await state.clear()
        await message.answer(_(STALE))
        return
    groups, sites, members = data["counts"]
    started = date.fromisoformat(data["started_on"]) if data.get("started_on") else None
    model = await add_model(session, member, Unit(area=area, organization=organization), model_type,
                            ModelDraft(data["name"], started, groups, sites, members, how_to_join=how))
    await state.clear()
    after_commit.call(message.answer, _("✅ Đã thêm mô hình:") + "\n" + model_card(model, i18n.current_locale),
                      reply_markup=_review_keyboard(model))


# ---------------------------------------------------------------------------------------------
# Residents, from the outreach menu.


async def my_hamlet_models(callback: CallbackQuery, session: AsyncSession, member: Member | None, i18n: I18n) -> None:
    """The models of the resident's hamlet, with how to take part."""
    await callback.answer()
    hamlet = None
    if member is not None and member.household is not None:
        hamlet = member.household.hamlet
    elif member is not None and member.role in STAFF_ROLES and member.area is not None and member.area.level == "hamlet":
        hamlet = member.area  # a hamlet head without a household of their own
    if hamlet is None:
        await callback.message.answer(_("Bạn tham gia ấp của mình (/join) để xem các mô hình tự quản của ấp "
                                        "và cách tham gia."))
        return
    await hamlet_models(callback.message, session, hamlet, i18n.current_locale, for_resident=True)


def router() -> Router:
    """The /models router."""
    router = Router(name="models")
    officers = requires(*OFFICER_ROLES)
    typed = not_a_command()
    callbacks = router.callback_query
    router.message.register(show_models, Command("models"), flags=COMMANDS["models"].flags)
    callbacks.register(turn_page, ModelPage.filter(), flags=officers)
    callbacks.register(open_model, ModelOpen.filter(), flags=officers)
    callbacks.register(review, ModelReview.filter(), flags=officers)
    router.message.register(typed_review_counts, ModelForm.review_counts, typed, flags=officers)
    router.message.register(typed_removal, ModelForm.review_reason, typed, flags=officers)
    callbacks.register(ask_unit, ModelAdd.filter(), flags=officers)
    callbacks.register(choose_unit, ModelForm.unit, ModelUnit.filter(), flags=officers)
    router.message.register(typed_unit, ModelForm.unit, typed, flags=officers)
    callbacks.register(choose_type, ModelForm.type, ModelTypeChoice.filter(), flags=officers)
    router.message.register(typed_name, ModelForm.name, typed, flags=officers)
    router.message.register(typed_counts, ModelForm.counts, typed, flags=officers)
    router.message.register(typed_started, ModelForm.started, typed, flags=officers)
    callbacks.register(skip, StateFilter(ModelForm.started, ModelForm.how), ModelSkip.filter(), flags=officers)
    router.message.register(typed_how, ModelForm.how, typed, flags=officers)
    callbacks.register(my_hamlet_models, ModelMine.filter())
    return router
