"""/recognition: "An toàn về an ninh, trật tự" for the units in scope. Officers and admins list
them with their status, open one, register it, tick the criteria the bot does not compute, move
it along and record the decision; hamlet heads see their hamlet's checklist and what is missing."""

from typing import Literal

from aiogram import Router
from aiogram.filters import Command, CommandObject
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
from base.labels import ROLE_LABELS
from base.paging import page_count
from base.settings import Settings
from db.models import Area, Member, RecognitionCriterion
from db.services.areas import children, get_area
from db.services.criteria import KIND_LABELS, Checklist, CriterionState, RecognitionUnit
from db.services.households import households_missing
from db.services.members import OFFICER_ROLES, scope_covers
from db.services.recognition import (
    STATUS_LABELS,
    Decision,
    advance,
    campaign_of,
    check_decision_number,
    decide,
    get_recognition,
    label_status,
    may_decide,
    may_prepare,
    note,
    open_campaign,
    recognition_of,
    register_unit,
    tick,
    unit_by_ref,
    unit_checklist,
    unit_lines,
    units_of,
)
from db.services.schedule_times import parse_day
from db.text import N_
from handlers.common.callbacks import Id, Page
from handlers.common.keyboards import keyboard, not_a_command, pager

PAGE = 10
MISSING_SHOWN = 20
STALE = N_("Nút này không còn dùng được. Bạn hãy bắt đầu lại bằng lệnh.")
OUT_OF_SCOPE = N_("Đơn vị này nằm ngoài phạm vi bạn phụ trách.")
Kind = Literal["area", "org"]


class RcUnit(CallbackData, prefix="ru"):
    """Open a unit's card."""

    kind: Kind
    id: Id


class RcList(CallbackData, prefix="rl"):
    """A page of an area's units."""

    area: Id
    page: Page


class RcStep(CallbackData, prefix="rs"):
    """Register a unit, or take it to the next step."""

    action: Literal["register", "self_assessed", "proposed"]
    kind: Kind
    id: Id


class RcCriterion(CallbackData, prefix="rc"):
    """Open a criterion of a recognition, to tick it."""

    rec: Id
    crit: Id


class RcTick(CallbackData, prefix="rt"):
    """Tick a criterion met or not."""

    rec: Id
    crit: Id
    met: bool


class RcNote(CallbackData, prefix="rn"):
    """Write a note on a criterion."""

    rec: Id
    crit: Id


class RcDecide(CallbackData, prefix="rd"):
    """Record the decision: đạt or chưa đạt."""

    rec: Id
    result: Literal["passed", "failed"]


class RcToday(CallbackData, prefix="ry"):
    """The decision is dated today."""

    action: Literal["today"] = "today"


class RecognitionForm(StatesGroup):
    """A note, or a decision's number and date, being typed (the data says for what)."""

    note = State()
    number = State()
    day = State()


def mark(met: bool | None) -> str:
    """✅ met, ❌ not met, ⬜ not ticked yet."""
    return "⬜" if met is None else "✅" if met else "❌"


def status_mark(line_recognition) -> str:
    if line_recognition is None:
        return "⬜"
    if line_recognition.status == "decided":
        return "🏅" if line_recognition.result == "passed" else "❌"
    return {"registered": "📝", "self_assessed": "🔍", "proposed": "📨"}[line_recognition.status]


def kind_label(unit: RecognitionUnit) -> str:
    return _(KIND_LABELS[unit.kind])


def criterion_line(item: CriterionState, locale: str | None) -> str:
    """One criterion: its mark, number and wording, the figures or the officer's note."""
    line = f"{mark(item.met)} {item.criterion.number}. {hd.quote(item.criterion.label(locale))}"
    if item.figure is not None:
        line += " — " + hd.quote(_(item.figure.message).format(**item.figure.params))
    elif item.check is not None and item.check.note:
        line += " — <i>" + hd.quote(item.check.note) + "</i>"
    return line


def card_text(found: Checklist, locale: str | None) -> str:
    """A unit's card: what it is, where it stands, its criteria."""
    unit, recognition = found.unit, found.recognition
    lines = [_("<b>{name}</b> ({kind}) — công nhận “An toàn về an ninh, trật tự” năm {year}").format(
        name=hd.quote(unit.name), kind=kind_label(unit).lower(), year=found.campaign.year),
        _("Tình trạng: {status}").format(status=_(label_status(recognition)))]
    if recognition is not None and recognition.status == "decided":
        lines.append(_("Quyết định số {number} ngày {date} ({role}).").format(
            number=hd.quote(recognition.decision_number or ""), date=f"{recognition.decided_on:%d/%m/%Y}",
            role=str(ROLE_LABELS.get(recognition.decided_by_role, recognition.decided_by_role or "")).lower()))
    lines += ["", _("<b>Tiêu chí</b> (✅ đạt, ❌ chưa đạt, ⬜ chưa đánh giá):")]
    lines += [criterion_line(item, locale) for item in found.items]
    return "\n".join(lines)


def card_keyboard(found: Checklist, member: Member, settings: Settings):
    """What the officer may do next on the unit."""
    unit, recognition = found.unit, found.recognition
    kind, unit_id = unit.ref
    rows = []
    if may_prepare(member, unit) and (recognition is None or recognition.status != "decided"):
        if recognition is None:
            rows.append([(_("📝 Ghi nhận đăng ký"), RcStep(action="register", kind=kind, id=unit_id))])
        else:
            ticks = [(f"{mark(item.met)} {item.criterion.number}", RcCriterion(rec=recognition.id, crit=item.criterion.id))
                     for item in found.items if not item.computed]
            rows += [ticks[i:i + 4] for i in range(0, len(ticks), 4)]
            if recognition.status == "registered":
                rows.append([(_("🔍 Đã tự đánh giá"), RcStep(action="self_assessed", kind=kind, id=unit_id))])
            elif recognition.status == "self_assessed":
                rows.append([(_("📨 Đề nghị công nhận"), RcStep(action="proposed", kind=kind, id=unit_id))])
    if recognition is not None and recognition.status == "proposed" and may_decide(member, unit, settings.approver):
        rows.append([(_("🏅 Quyết định: đạt"), RcDecide(rec=recognition.id, result="passed")),
                     (_("❌ Quyết định: chưa đạt"), RcDecide(rec=recognition.id, result="failed"))])
    if unit.kind == "commune":
        rows.append([(_("📋 Các đơn vị của xã"), RcList(area=unit.area.id, page=0))])
    return keyboard(*rows) if rows else None


async def show_card(target: Message, session: AsyncSession, member: Member, unit: RecognitionUnit, i18n: I18n,
                    clock: Clock, settings: Settings, after_commit: AfterCommit | None = None) -> None:
    """The unit's card with its buttons (after the commit, when given)."""
    campaign = await campaign_of(session, unit, today(clock, settings))
    found = await unit_checklist(session, campaign, unit)
    text, markup = card_text(found, i18n.current_locale), card_keyboard(found, member, settings)
    if after_commit is None:
        await target.answer(text, reply_markup=markup)
    else:
        after_commit.call(target.answer, text, reply_markup=markup)


async def head_checklist(target: Message, session: AsyncSession, hamlet: Area, i18n: I18n, clock: Clock,
                         settings: Settings) -> None:
    """A hamlet head's view: the checklist, and what is missing (the households not pledged)."""
    unit = RecognitionUnit(area=hamlet)
    campaign = await campaign_of(session, unit, today(clock, settings))
    found = await unit_checklist(session, campaign, unit)
    lines = [card_text(found, i18n.current_locale)]
    unmet = found.unmet
    if not unmet:
        lines += ["", _("Ấp đã đủ các tiêu chí.")]
    else:
        lines += ["", _("<b>Còn thiếu:</b>")]
        for item in unmet:
            lines.append(f"• {item.criterion.number}. {hd.quote(item.criterion.label(i18n.current_locale))}"
                         + ("" if item.met is False else " " + _("(chưa được đánh giá)")))
            if item.figure is not None and item.figure.unpledged:
                households, total = await households_missing(session, "unpledged", hamlet, campaign, 0, MISSING_SHOWN)
                lines.append(_("  {count} hộ chưa ký cam kết:").format(count=total))
                lines += [f"  – {h.code} — {hd.quote(h.head_name)}" for h in households]
                if total > len(households):
                    lines.append(_("  … xem cả danh sách: /households {code}").format(code=hamlet.code))
    await target.answer("\n".join(lines))


async def show_recognition(message: Message, command: CommandObject, session: AsyncSession, member: Member,
                           i18n: I18n, clock: Clock, settings: Settings, state: FSMContext) -> None:
    """/recognition [CODE]: a hamlet head's checklist; an officer's or admin's list of the units of
    their area (or the one named), or the card of a hamlet."""
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
        await head_checklist(message, session, area, i18n, clock, settings)
    elif area.level == "hamlet":
        await show_card(message, session, member, RecognitionUnit(area=area), i18n, clock, settings)
    else:
        await show_list(message, session, area, 0, clock, settings)


async def show_list(target: Message, session: AsyncSession, area: Area, page: int, clock: Clock,
                    settings: Settings) -> None:
    """One page of the area's units with their status, a button each."""
    campaign = await open_campaign(session, area, today(clock, settings))
    lines_all = await unit_lines(session, campaign, await units_of(session, area))
    pages = page_count(len(lines_all), PAGE)
    page = min(page, pages - 1)
    shown = lines_all[page * PAGE:(page + 1) * PAGE]
    decided = [line for line in lines_all if line.recognition is not None and line.recognition.status == "decided"]
    passed = sum(1 for line in decided if line.recognition.result == "passed")
    lines = [_("<b>Công nhận “An toàn về ANTT” — {area}, năm {year}</b>").format(area=hd.quote(area.name),
                                                                               year=campaign.year),
             _("{units} đơn vị: {passed} đạt, {failed} chưa đạt, {open} đang xét, {unregistered} chưa đăng ký.").format(
                 units=len(lines_all), passed=passed, failed=len(decided) - passed,
                 open=sum(1 for line in lines_all if line.recognition is not None) - len(decided),
                 unregistered=sum(1 for line in lines_all if line.recognition is None)),
             _("⬜ chưa đăng ký, 📝 đã đăng ký, 🔍 đã tự đánh giá, 📨 đã đề nghị, 🏅 đạt, ❌ chưa đạt.")]
    if pages > 1:
        lines.append(_("(trang {page}/{pages})").format(page=page + 1, pages=pages))
    rows = []
    for line in shown:
        kind, unit_id = line.unit.ref
        label = f"{status_mark(line.recognition)} {line.unit.name} ({kind_label(line.unit).lower()})"
        rows.append([(short(label), RcUnit(kind=kind, id=unit_id))])
    page_row = pager(lambda number: RcList(area=area.id, page=number), page, len(lines_all), PAGE)
    await target.answer("\n".join(lines), reply_markup=keyboard(*rows, page_row))


async def turn_page(callback: CallbackQuery, callback_data: RcList, session: AsyncSession, member: Member,
                    clock: Clock, settings: Settings) -> None:
    """◀ / ▶ under a list, or a commune's units from its card."""
    await callback.answer()
    area = await session.get(Area, callback_data.area)
    if area is None or not scope_covers(member, area):
        await callback.message.answer(_("Địa bàn này nằm ngoài phạm vi bạn phụ trách."))
        return
    await show_list(callback.message, session, area, callback_data.page, clock, settings)


async def _unit_in_scope(callback: CallbackQuery, session: AsyncSession, member: Member, kind: str,
                         unit_id: int) -> RecognitionUnit | None:
    unit = await unit_by_ref(session, kind, unit_id)
    if unit is None or not scope_covers(member, unit.home):
        await callback.message.answer(_(OUT_OF_SCOPE))
        return None
    return unit


async def open_unit(callback: CallbackQuery, callback_data: RcUnit, session: AsyncSession, member: Member,
                    i18n: I18n, clock: Clock, settings: Settings) -> None:
    """A unit's card."""
    await callback.answer()
    unit = await _unit_in_scope(callback, session, member, callback_data.kind, callback_data.id)
    if unit is not None:
        await show_card(callback.message, session, member, unit, i18n, clock, settings)


async def step(callback: CallbackQuery, callback_data: RcStep, session: AsyncSession, member: Member,
               i18n: I18n, clock: Clock, settings: Settings, after_commit: AfterCommit) -> None:
    """Register the unit, or take it to the next step; then its card again."""
    await callback.answer()
    unit = await _unit_in_scope(callback, session, member, callback_data.kind, callback_data.id)
    if unit is None:
        return
    campaign = await campaign_of(session, unit, today(clock, settings))
    if callback_data.action == "register":
        _recognition, created = await register_unit(session, member, campaign, unit)
        if created:
            after_commit.call(callback.message.answer, _("📝 Đã ghi nhận {name} đăng ký xét công nhận năm {year}.").format(
                name=hd.quote(unit.name), year=campaign.year))
    else:
        recognition = await recognition_of(session, campaign, unit)
        if recognition is None:
            await callback.message.answer(_("{name} chưa đăng ký xét công nhận.").format(name=hd.quote(unit.name)))
            return
        await advance(session, member, recognition, callback_data.action)
        after_commit.call(callback.message.answer, _("{name}: {status}.").format(
            name=hd.quote(unit.name), status=_(STATUS_LABELS[callback_data.action])))
    await show_card(callback.message, session, member, unit, i18n, clock, settings, after_commit)


async def _recognition_in_scope(target: Message, session: AsyncSession, member: Member, recognition_id: int):
    recognition = await get_recognition(session, recognition_id)
    if recognition is None:
        await target.answer(_(STALE))
        return None
    unit = RecognitionUnit(recognition.area, recognition.organization)
    if not scope_covers(member, unit.home):
        await target.answer(_(OUT_OF_SCOPE))
        return None
    return recognition, unit


async def open_criterion(callback: CallbackQuery, callback_data: RcCriterion, session: AsyncSession,
                         member: Member, i18n: I18n) -> None:
    """One criterion: tick it met or not, or write a note."""
    await callback.answer()
    found = await _recognition_in_scope(callback.message, session, member, callback_data.rec)
    criterion = await session.get(RecognitionCriterion, callback_data.crit)
    if found is None or criterion is None:
        return
    recognition, unit = found
    kind, unit_id = unit.ref
    await callback.message.answer(
        _("{name} — tiêu chí {number}:").format(name=hd.quote(unit.name), number=criterion.number) + "\n"
        + hd.quote(criterion.label(i18n.current_locale)),
        reply_markup=keyboard(
            [(_("✅ Đạt"), RcTick(rec=recognition.id, crit=criterion.id, met=True)),
             (_("❌ Chưa đạt"), RcTick(rec=recognition.id, crit=criterion.id, met=False))],
            [(_("📝 Ghi chú"), RcNote(rec=recognition.id, crit=criterion.id))],
            [(_("⬅ Quay lại"), RcUnit(kind=kind, id=unit_id))]))


async def tick_criterion(callback: CallbackQuery, callback_data: RcTick, session: AsyncSession, member: Member,
                         i18n: I18n, clock: Clock, settings: Settings, after_commit: AfterCommit) -> None:
    """Met or not: recorded; then the card again."""
    await callback.answer()
    found = await _recognition_in_scope(callback.message, session, member, callback_data.rec)
    criterion = await session.get(RecognitionCriterion, callback_data.crit)
    if found is None or criterion is None:
        return
    recognition, unit = found
    await tick(session, member, recognition, criterion, callback_data.met)
    await show_card(callback.message, session, member, unit, i18n, clock, settings, after_commit)


async def ask_note(callback: CallbackQuery, callback_data: RcNote, session: AsyncSession, member: Member,
                   state: FSMContext) -> None:
    """A note on a criterion: typed next."""
    await callback.answer()
    found = await _recognition_in_scope(callback.message, session, member, callback_data.rec)
    if found is None:
        return
    await state.set_state(RecognitionForm.note)
    await state.set_data({"rec": callback_data.rec, "crit": callback_data.crit})
    await callback.message.answer(_("Gõ ghi chú cho tiêu chí (tối đa 500 ký tự, /cancel để thôi)."))


async def typed_note(message: Message, session: AsyncSession, member: Member, state: FSMContext, i18n: I18n,
                     clock: Clock, settings: Settings, after_commit: AfterCommit) -> None:
    """The note typed: recorded; then the card again."""
    data = await state.get_data()
    found = await _recognition_in_scope(message, session, member, data.get("rec", 0))
    criterion = await session.get(RecognitionCriterion, data.get("crit", 0))
    if found is None or criterion is None:
        await state.clear()
        return
    recognition, unit = found
    await note(session, member, recognition, criterion, message.text or "")
    await state.clear()
    await show_card(message, session, member, unit, i18n, clock, settings, after_commit)


async def ask_number(callback: CallbackQuery, callback_data: RcDecide, session: AsyncSession, member: Member,
                     settings: Settings, state: FSMContext) -> None:
    """The decision: its number first."""
    await callback.answer()
    found = await _recognition_in_scope(callback.message, session, member, callback_data.rec)
    if found is None:
        return
    recognition, unit = found
    if not may_decide(member, unit, settings.approver):
        await callback.message.answer(_("Bạn chưa có quyền quyết định công nhận {name}.").format(name=hd.quote(unit.name)))
        return
    await state.set_state(RecognitionForm.number)
    await state.set_data({"rec": recognition.id, "result": callback_data.result})
    await callback.message.answer(_("Gõ số quyết định công nhận (ví dụ 125/QĐ-UBND), hoặc /cancel để thôi."))


async def typed_number(message: Message, state: FSMContext) -> None:
    """The decision's number: then its date."""
    number = check_decision_number(message.text or "")
    await state.update_data(number=number)
    await state.set_state(RecognitionForm.day)
    await message.answer(_("Quyết định ký ngày nào? Gõ dạng DD/MM/YYYY."),
                         reply_markup=keyboard([(_("Hôm nay"), RcToday())]))


async def _decide(target: Message, session: AsyncSession, member: Member, state: FSMContext, day, i18n: I18n,
                  clock: Clock, settings: Settings, after_commit: AfterCommit) -> None:
    data = await state.get_data()
    found = await _recognition_in_scope(target, session, member, data.get("rec", 0))
    if found is None or "number" not in data:
        await state.clear()
        return
    recognition, unit = found
    await decide(session, member, recognition, Decision(data["result"], data["number"], day), settings.approver,
                 today(clock, settings))
    await state.clear()
    after_commit.call(target.answer, _("Đã ghi quyết định số {number} ngày {date}: {name} — {result}.").format(
        number=hd.quote(recognition.decision_number), date=f"{recognition.decided_on:%d/%m/%Y}",
        name=hd.quote(unit.name), result=_(label_status(recognition))))
    await show_card(target, session, member, unit, i18n, clock, settings, after_commit)


async def typed_day(message: Message, session: AsyncSession, member: Member, state: FSMContext, i18n: I18n,
                    clock: Clock, settings: Settings, after_commit: AfterCommit) -> None:
    """The decision's date typed: record the decision."""
    day = parse_day(message.text or "")
    await _decide(message, session, member, state, day, i18n, clock, settings, after_commit)


async def dated_today(callback: CallbackQuery, session: AsyncSession, member: Member, state: FSMContext,
                      i18n: I18n, clock: Clock, settings: Settings, after_commit: AfterCommit) -> None:
    """Hôm nay: record the decision dated today."""
    await callback.answer()
    await _decide(callback.message, session, member, state, today(clock, settings), i18n, clock, settings,
                  after_commit)


def router() -> Router:
    """The /recognition router."""
    router = Router(name="recognition")
    officers = requires(*OFFICER_ROLES)
    typed = not_a_command()
    callbacks = router.callback_query
    router.message.register(show_recognition, Command("recognition"), flags=COMMANDS["recognition"].flags)
    callbacks.register(turn_page, RcList.filter(), flags=officers)
    callbacks.register(open_unit, RcUnit.filter(), flags=officers)
    callbacks.register(step, RcStep.filter(), flags=officers)
    callbacks.register(open_criterion, RcCriterion.filter(), flags=officers)
    callbacks.register(tick_criterion, RcTick.filter(), flags=officers)
    callbacks.register(ask_note, RcNote.filter(), flags=officers)
    router.message.register(typed_note, RecognitionForm.note, typed, flags=officers)
    callbacks.register(ask_number, RcDecide.filter(), flags=officers)
    router.message.register(typed_number, RecognitionForm.number, typed, flags=officers)
    router.message.register(typed_day, RecognitionForm.day, typed, flags=officers)
    callbacks.register(dated_today, RecognitionForm.day, RcToday.filter(), flags=officers)
    return router
