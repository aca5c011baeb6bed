"""The campaign calendar: milestones, reminders on them, their due times, and firing a reminder."""

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AUDIENCES, MILESTONE_KINDS, Area, Campaign, Member, Milestone, Reminder
from db.services.audit import record
from db.services.audiences import check_audience, recipients_query
from db.services.campaigns import ancestor_ids, create_campaign
from db.services.deliveries import enqueue_audience
from db.services.members import OFFICER_ROLES, scope_covers
from db.services.schedule_times import QuietHours, local_moment, parse_hhmm
from db.text import N_, NP_, Problem, Translator

KIND_TITLES = {
    "registration_deadline": N_("Hạn đăng ký tham gia phong trào"),
    "festival_day": N_("Ngày hội toàn dân bảo vệ an ninh Tổ quốc"),
    "six_month_review": N_("Sơ kết 6 tháng"),
    "year_end_review": N_("Tổng kết năm"),
    "hamlet_period_end": N_("Hết kỳ đánh giá khu dân cư"),
    "unit_period_end": N_("Hết kỳ đánh giá xã, cơ quan, doanh nghiệp, trường học"),
    "hamlet_files_due": N_("Hạn nộp hồ sơ công nhận khu dân cư “An toàn về ANTT”"),
    "unit_files_due": N_("Hạn nộp hồ sơ công nhận xã, cơ quan, doanh nghiệp, trường học"),
    "custom": N_("Mốc khác"),
}
# The movement's festival day is 19 August every year.
FESTIVAL_DAY = (8, 19)
# The milestones whose day is fixed every year, and that day: the festival, and the recognition's
# assessment periods (khu dân cư 1 Nov–31 Oct, the other units 16 Nov–15 Nov) and file deadlines
# (20 and 30 November), Thông tư 124/2021/TT-BCA.
DEFAULT_DAYS = {
    "festival_day": FESTIVAL_DAY,
    "hamlet_period_end": (10, 31),
    "unit_period_end": (11, 15),
    "hamlet_files_due": (11, 20),
    "unit_files_due": (11, 30),
}
AUDIENCE_NOTES = {
    "all": None,
    "unpledged": N_("Gia đình bạn chưa xác nhận bản cam kết “An toàn về an ninh, trật tự” năm nay. "
                    "Mong bà con cùng tham gia!"),
    "unreached": N_("Bà con hãy dành ít phút đọc bài tuyên truyền phòng, chống tội phạm mới nhất "
                    "của Bình Yên."),
    "heads": N_("Đề nghị trưởng ấp, khóm, thôn nhắc bà con trong địa bàn."),
}
_SPEC = re.compile(r"^(\d{1,3})d(?:@(\d{1,2}[:hH]\d{2}))?(?::(\w+))?$")
DEFAULT_AT = time(8, 0)
MAX_TITLE = 200
# Days before a milestone an officer may type in chat (the command line allows up to 366).
MAX_DAYS_BEFORE = 90


@dataclass(frozen=True)
class ReminderSpec:
    """A reminder as the CLI writes it: "7d@08:00:unpledged" (days before, time, audience)."""

    days_before: int
    at: time
    audience: str

    @classmethod
    def parse(cls, text: str) -> "ReminderSpec":
        """"7d", "0d@07:30", "1d@19:00:heads"; a Problem that shows the form otherwise."""
        match = _SPEC.match(text.strip())
        at = parse_hhmm(match[2]) if match and match[2] else DEFAULT_AT
        audience = (match[3] if match else None) or "all"
        if not match or at is None or audience not in AUDIENCES or int(match[1]) > 366:
            raise Problem(N_("Lời nhắc “{text}” không đúng dạng NGÀYd[@HH:MM][:NHÓM], ví dụ "
                             "7d@08:00:unpledged (nhóm: {audiences})."),
                          text=text, audiences=", ".join(AUDIENCES))
        return cls(int(match[1]), at, audience)


def milestone_title(milestone: Milestone, gettext: Callable[[str], str]) -> str:
    """The milestone's name: its own title, or its kind's name through `gettext`."""
    return milestone.title or gettext(KIND_TITLES[milestone.kind])


def due_time(
    day: date, days_before: int, at: time, tz: ZoneInfo, quiet: QuietHours | None
) -> datetime:
    """When a reminder fires: `days_before` days before `day` at `at` local time, moved to the
    end of the quiet hours when it falls in them."""
    moment = local_moment(day - timedelta(days=days_before), at, tz)
    return quiet.release(moment, tz) if quiet is not None else moment


async def campaign_for_year(session: AsyncSession, area: Area, year: int) -> Campaign | None:
    """The campaign of `year` set at `area` or the nearest area above it."""
    ids = ancestor_ids(area)
    campaigns = list(await session.scalars(
        select(Campaign).where(Campaign.area_id.in_(ids), Campaign.year == year)))
    campaigns.sort(key=lambda campaign: ids.index(campaign.area_id), reverse=True)
    return campaigns[0] if campaigns else None


async def ensure_campaign(
    session: AsyncSession, area: Area, year: int, pledge_version: str
) -> tuple[Campaign, bool]:
    """The campaign of `year` covering `area`, created at `area` (with the pledge text
    `pledge_version`) when there is none."""
    campaign = await campaign_for_year(session, area, year)
    if campaign is not None:
        return campaign, False
    name = f"Phong trào toàn dân bảo vệ an ninh Tổ quốc năm {year}"
    return await create_campaign(session, area, year, name, pledge_version), True


def _checked_milestone(
    area: Area, year: int, starts_on: date, ends_on: date, kind: str, day: date | None,
    title: str | None, added_by: Member | None,
) -> tuple[date, str | None]:
    """The milestone's day and title once every rule holds (a Problem says which does not)."""
    if kind not in MILESTONE_KINDS:
        raise Problem(N_("Loại mốc không hợp lệ: {kind} (chọn: {kinds})."),
                      kind=kind, kinds=", ".join(MILESTONE_KINDS))
    if added_by is not None and not scope_covers(added_by, area):
        raise Problem(N_("Địa bàn {code} nằm ngoài phạm vi bạn phụ trách."), code=area.code)
    if day is None and kind in DEFAULT_DAYS:
        day = date(year, *DEFAULT_DAYS[kind])
    if day is None:
        raise Problem(N_("Mốc này cần một ngày."))
    if not starts_on <= day <= ends_on:
        raise Problem(N_("Ngày {day} nằm ngoài thời gian của chiến dịch ({start} – {end})."),
                      day=f"{day:%d/%m/%Y}", start=f"{starts_on:%d/%m/%Y}", end=f"{ends_on:%d/%m/%Y}")
    title = unicodedata.normalize("NFC", " ".join((title or "").split())) or None
    if kind == "custom" and not title:
        raise Problem(N_("Mốc khác cần có tên (--title)."))
    if title and len(title) > MAX_TITLE:
        raise Problem(N_("Tên mốc dài quá {limit} ký tự."), limit=MAX_TITLE)
    return day, title


async def add_milestone(
    session: AsyncSession,
    campaign: Campaign,
    area: Area,
    kind: str,
    day: date | None,
    title: str | None,
    tz: ZoneInfo,
    quiet: QuietHours | None,
    added_by: Member | None = None,
) -> tuple[Milestone, bool]:
    """Add a milestone for `area` (within the scope of `added_by`, a member; None is the operator's
    command line); a standard kind already there is moved to the new date (its reminders
    re-planned). Returns the milestone and whether it is new."""
    day, title = _checked_milestone(area, campaign.year, campaign.starts_on, campaign.ends_on, kind,
                                    day, title, added_by)
    if not campaign.area.contains(area):
        raise Problem(N_("Địa bàn {code} không thuộc chiến dịch này."), code=area.code)
    existing = None
    if kind != "custom":
        existing = await session.scalar(select(Milestone).where(
            Milestone.campaign_id == campaign.id, Milestone.area_id == area.id,
            Milestone.kind == kind))
    if existing is not None:
        existing.happens_on, existing.title = day, title or existing.title
        await replan_reminders(session, existing, tz, quiet)
        if added_by is not None:
            await record(session, added_by, "milestone", area, subject=f"milestone:{existing.id}", detail=kind)
        return existing, False
    milestone = Milestone(campaign_id=campaign.id, campaign=campaign, area_id=area.id, area=area,
                          kind=kind, title=title, happens_on=day)
    session.add(milestone)
    await session.flush()
    if added_by is not None:
        await record(session, added_by, "milestone", area, subject=f"milestone:{milestone.id}", detail=kind)
    return milestone, True


async def add_milestone_in_year(
    session: AsyncSession,
    area: Area,
    year: int,
    kind: str,
    day: date | None,
    title: str | None,
    tz: ZoneInfo,
    quiet: QuietHours | None,
    pledge_version: str,
    added_by: Member | None = None,
) -> tuple[Milestone, bool, bool]:
    """Add a milestone to the campaign of `year` covering `area`, creating that campaign at
    `area` (with the pledge text `pledge_version`) when there is none, so that in December next
    year's registration deadline can be set. Returns the milestone, whether it is new, and
    whether the campaign was created."""
    campaign = await campaign_for_year(session, area, year)
    created = False
    if campaign is None:
        # Checked before the campaign is created: a refused milestone leaves nothing behind.
        _checked_milestone(area, year, date(year, 1, 1), date(year, 12, 31), kind, day, title,
                           added_by)
        campaign, created = await ensure_campaign(session, area, year, pledge_version)
    milestone, new = await add_milestone(session, campaign, area, kind, day, title, tz, quiet,
                                         added_by)
    return milestone, new, created


async def replan_reminders(
    session: AsyncSession, milestone: Milestone, tz: ZoneInfo, quiet: QuietHours | None
) -> None:
    """Recompute the due times of the milestone's reminders that have not fired."""
    reminders = await session.scalars(select(Reminder).where(
        Reminder.milestone_id == milestone.id, Reminder.status == "planned"))
    for reminder in reminders:
        reminder.due_at = due_time(milestone.happens_on, reminder.days_before,
                                   parse_hhmm(reminder.at_time), tz, quiet)
    await session.flush()


async def add_reminder(
    session: AsyncSession,
    milestone: Milestone,
    area: Area,
    spec: ReminderSpec,
    text: str | None,
    created_by: Member | None,
    now: datetime,
    tz: ZoneInfo,
    quiet: QuietHours | None,
) -> Reminder:
    """A reminder on `milestone` for an audience of `area` (within the milestone's area and, for
    a member, within their scope); a Problem if it would fire in the past."""
    check_audience(spec.audience)
    if not milestone.area.contains(area):
        raise Problem(N_("Địa bàn {code} không thuộc phạm vi của mốc này."), code=area.code)
    if created_by is not None and not scope_covers(created_by, area):
        raise Problem(N_("Địa bàn {code} nằm ngoài phạm vi bạn phụ trách."), code=area.code)
    text = unicodedata.normalize("NFC", text or "").strip() or None
    if text and len(text) > 3000:
        raise Problem(N_("Nội dung dài {length} ký tự; tối đa {limit} ký tự."),
                      length=len(text), limit=3000)
    due = due_time(milestone.happens_on, spec.days_before, spec.at, tz, quiet)
    if due <= now:
        raise Problem(N_("Lời nhắc lúc {when} đã qua thời điểm gửi."),
                      when=f"{due.astimezone(tz):%H:%M %d/%m/%Y}")
    reminder = Reminder(
        milestone_id=milestone.id, milestone=milestone, area_id=area.id, area=area,
        days_before=spec.days_before, at_time=f"{spec.at:%H:%M}", audience=spec.audience,
        text=text, due_at=due, status="planned", created_by_id=created_by.id if created_by else None,
        created_at=now,
    )
    session.add(reminder)
    await session.flush()
    if created_by is not None:
        await record(session, created_by, "reminder", area, subject=f"reminder:{reminder.id}", at=now)
    return reminder


def parse_days_before(text: str) -> int:
    """How many days before the milestone, typed in chat (0 to 90); a Problem otherwise."""
    text = text.strip().lower().removesuffix("d").strip()
    if text.isascii() and text.isdigit() and int(text) <= MAX_DAYS_BEFORE:
        return int(text)
    raise Problem(N_("Hãy gõ số ngày trước mốc, từ 0 đến {limit} (0 là đúng ngày)."),
                  limit=MAX_DAYS_BEFORE)


def may_remove(member: Member | None, reminder: Reminder) -> bool:
    """Officers and admins remove reminders whose audience lies within their scope (None: the
    operator's command line)."""
    if member is None:
        return True
    return member.role in OFFICER_ROLES and scope_covers(member, reminder.area)


async def remove_reminder(session: AsyncSession, member: Member | None, reminder_id: int) -> Reminder:
    """Delete a reminder that has not been sent; a Problem says why not otherwise. Its job
    leaves the scheduler's plan at the next planning (a job that fires first finds nothing)."""
    reminder = await session.get(Reminder, reminder_id)
    if reminder is None or not may_remove(member, reminder):
        raise Problem(N_("Không có lời nhắc #{id} mà bạn được phép xóa."), id=reminder_id)
    # A sent reminder has its deliveries and counts: it stays in the record.
    removed = await session.execute(
        delete(Reminder).where(Reminder.id == reminder.id, Reminder.status != "sent")
        .execution_options(synchronize_session=False))
    if removed.rowcount != 1:
        raise Problem(N_("Lời nhắc #{id} đã gửi, không xóa được nữa."), id=reminder_id)
    session.expunge(reminder)
    if member is not None:
        await record(session, member, "reminder_remove", reminder.area, subject=f"reminder:{reminder.id}")
    return reminder


async def milestones_for(session: AsyncSession, campaign: Campaign, area: Area) -> list[Milestone]:
    """The campaign's milestones that apply to `area` (set at it or above it), by date."""
    query = select(Milestone).where(
        Milestone.campaign_id == campaign.id, Milestone.area_id.in_(ancestor_ids(area)))
    return list(await session.scalars(query.order_by(Milestone.happens_on, Milestone.id)))


async def campaign_milestones(session: AsyncSession, campaign: Campaign) -> list[Milestone]:
    """Every milestone of the campaign, whatever area set it, by date."""
    query = select(Milestone).where(Milestone.campaign_id == campaign.id)
    return list(await session.scalars(query.order_by(Milestone.happens_on, Milestone.id)))


async def reminders_for(session: AsyncSession, milestones: list[Milestone], area: Area) -> list[Reminder]:
    """Reminders on these milestones whose audience area is above, at or below `area`."""
    if not milestones:
        return []
    query = select(Reminder).join(Reminder.area).where(
        Reminder.milestone_id.in_([m.id for m in milestones]),
        or_(Area.id.in_(ancestor_ids(area)), Area.path.startswith(area.path, autoescape=True)))
    return list(await session.scalars(query.order_by(Reminder.due_at, Reminder.id)))


async def get_milestone(session: AsyncSession, milestone_id: int) -> Milestone | None:
    """The milestone with this id, or None."""
    return await session.get(Milestone, milestone_id)


async def planned_reminders(session: AsyncSession) -> list[Reminder]:
    """Every reminder that has not fired, for the scheduler's plan."""
    return list(await session.scalars(
        select(Reminder).where(Reminder.status == "planned").order_by(Reminder.due_at)))


def render_reminder(translator: Translator, locale: str, reminder: Reminder) -> str:
    """The reminder as a recipient reads it, in their language (Telegram HTML)."""
    milestone = reminder.milestone
    title = html.escape(milestone_title(milestone, lambda text: translator(locale, text)), quote=False)
    day = f"{milestone.happens_on:%d/%m/%Y}"
    if reminder.days_before == 0:
        head = translator(locale, N_("⏰ Hôm nay, {date}: <b>{title}</b>.")).format(date=day, title=title)
    else:
        head = translator.plural(locale, NP_(
            "⏰ Còn {days} ngày nữa đến <b>{title}</b> ({date}).",
            "⏰ Còn {days} ngày nữa đến <b>{title}</b> ({date})."), reminder.days_before).format(
            days=reminder.days_before, title=title, date=day)
    if reminder.text:
        body = html.escape(reminder.text, quote=False)
    else:
        note = AUDIENCE_NOTES[reminder.audience]
        body = translator(locale, note) if note else ""
    return f"{head}\n\n{body}".strip()


async def fire_reminder(
    session: AsyncSession,
    reminder_id: int,
    now: datetime,
    stale_after: timedelta,
    translator: Translator,
) -> int | None:
    """Send a due reminder once: its deliveries, in each recipient's language.

    Returns the number of recipients; None when it was not due, already fired, or missed (older
    than `stale_after`: marked 'missed' and not sent)."""
    reminder = await session.get(Reminder, reminder_id)
    if reminder is None or reminder.status != "planned" or reminder.due_at > now:
        return None
    if now - reminder.due_at > stale_after:
        await session.execute(update(Reminder).where(
            Reminder.id == reminder.id, Reminder.status == "planned").values(status="missed"))
        return None
    fired = await session.execute(
        update(Reminder).where(Reminder.id == reminder.id, Reminder.status == "planned")
        .values(status="sent", fired_at=now).execution_options(synchronize_session=False))
    if fired.rowcount != 1:
        return None
    campaign_id = reminder.milestone.campaign_id
    query = recipients_query(reminder.area, reminder.audience, campaign_id)
    texts = {locale: render_reminder(translator, locale, reminder) for locale in translator.locales}
    added = await enqueue_audience(session, f"reminder:{reminder.id}", query, texts,
                                   translator.default, now, reminder_id=reminder.id)
    reminder.status, reminder.fired_at, reminder.recipients = "sent", now, added
    await session.flush()
    return added
