"""The demo's middle of a campaign: members who read, answer quizzes and pledge (more in some
hamlets than in others), sealed tips, finished broadcasts, agencies, enterprises and schools with
their registrations, models of several types, last year's recognition decisions and this year's
under way, the recognition's milestones, and weeks of daily snapshots, so that a newcomer's
first report, /stats and chart show something real."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.catalog import Catalog
from db.models import (
    Area,
    Broadcast,
    Campaign,
    CriterionCheck,
    Delivery,
    Household,
    Member,
    ModelType,
    MovementModel,
    Organization,
    OrganizationRegistration,
    Pledge,
    QuizAttempt,
    Reading,
    Recognition,
    RecognitionCriterion,
    Tally,
    utcnow,
)
from db.services import tallies as t
from db.services.campaigns import create_campaign
from db.services.joining import CONSENT_VERSION
from db.services.milestones import add_milestone
from db.services.organizations import unused_join_code
from db.services.recognition_calendar import add_recognition_calendar
from db.services.tip_sealing import TipKeys
from db.services.tips import TipDraft, submit_tip

# The share of households pledged falls commune by commune and hamlet by hamlet: the first
# commune's first hamlets are done, the last commune's far behind, as in a real campaign in August.
# Reach runs a little ahead of pledges, and somewhat fewer households use the bot.
COMMUNE_STEP, HAMLET_STEP = 0.22, 0.06


def profile(commune: int, hamlet: int) -> tuple[float, float, float]:
    """(on the bot, reached, pledged) shares of a hamlet."""
    pledged = max(0.1, min(1.0, 1.06 - COMMUNE_STEP * commune - HAMLET_STEP * hamlet))
    return max(0.1, pledged - 0.15), min(1.0, pledged + 0.1), pledged
FIRST_MEMBER = 10_000  # console user ids of demo residents (the demo staff are 2, 3 and 4)
TIPS = [("drugs", "Có người lạ tụ tập sử dụng ma túy ở căn nhà bỏ hoang cuối ấp."),
        ("theft", "Mất trộm xe máy trước cửa nhà lúc nửa đêm."),
        ("online_fraud", "Có người gọi điện giả danh công an yêu cầu chuyển tiền."),
        ("gambling", "Nhóm người đánh bạc ăn tiền ở quán nước đầu hẻm."),
        ("public_disorder", "Thanh niên tụ tập đua xe gây mất trật tự trên đường liên ấp."),
        ("domestic_violence", "Nghe tiếng la hét, đánh đập trong nhà hàng xóm nhiều đêm.")]
BROADCASTS = ["Mời bà con dự họp tổ nhân dân tự quản tối thứ Bảy tại nhà văn hóa ấp.",
              "Cảnh báo: đang có nhiều cuộc gọi giả danh cơ quan công an để lừa đảo chuyển tiền.",
              "Ngày hội toàn dân bảo vệ an ninh Tổ quốc 19/8: mời bà con tham dự và ký cam kết."]
# Per commune: its organizations (code suffix, kind, name).
ORGANIZATIONS = [("UB", "agency", "Ủy ban nhân dân {commune}"), ("THCS", "school", "Trường THCS {commune}"),
                 ("DN", "enterprise", "Công ty TNHH Nông sản {commune}")]


@dataclass
class DemoActivity:
    """What the middle of the campaign added."""

    members: int = 0
    pledges: int = 0
    tips: int = 0
    broadcasts: int = 0
    organizations: int = 0
    models: int = 0
    recognitions: int = 0


def _moment(rng: random.Random, start: date, end: date) -> datetime:
    """A time on a day between `start` and `end` (UTC, in working hours in Vietnam)."""
    days = max((end - start).days, 0)
    day = start + timedelta(days=rng.randint(0, days))
    return datetime.combine(day, time(rng.randint(1, 11), rng.randint(0, 59)), timezone.utc)


async def populate(
    session: AsyncSession, province: Area, campaign: Campaign, today: date, tz: ZoneInfo,
    keys: TipKeys | None, catalog: Catalog, seed: int = 2026,
) -> DemoActivity:
    """Fill the demo province with a campaign in full swing (the tree and households exist)."""
    rng = random.Random(seed)
    activity = DemoActivity()
    areas = list(await session.scalars(select(Area).where(Area.path.startswith(province.path)).order_by(Area.code)))
    communes = [a for a in areas if a.level == "commune"]
    hamlets = [a for a in areas if a.level == "hamlet"]
    end = min(today, campaign.ends_on)
    start = campaign.starts_on
    articles = [a for a in (catalog.article(i, "vi") for i in {key[0] for key in catalog.articles}) if a]
    articles.sort(key=lambda a: a.id)
    quizzes = [a for a in articles if a.quiz]
    members_of: dict[int, list[tuple[int, int]]] = {}
    for hamlet in hamlets:
        siblings = [h for h in hamlets if h.parent_id == hamlet.parent_id]
        commune_index = next(i for i, c in enumerate(communes) if c.id == hamlet.parent_id)
        on_bot, reached, pledged = profile(commune_index, siblings.index(hamlet))
        households = list(await session.scalars(
            select(Household.id).where(Household.hamlet_id == hamlet.id).order_by(Household.code)))
        count = len(households)
        joined = households[:round(count * on_bot)]
        rows = [{"channel": "console", "user_id": str(FIRST_MEMBER + activity.members + n), "household_id": h,
                 "role": "resident", "locale": "vi", "consent_at": utcnow(), "consent_version": CONSENT_VERSION}
                for n, h in enumerate(joined)]
        if rows:
            await session.execute(insert(Member), rows)
        activity.members += len(rows)
        ids = dict((await session.execute(select(Member.household_id, Member.id).where(
            Member.household_id.in_(joined)))).all()) if joined else {}
        members_of[hamlet.id] = [(h, ids[h]) for h in joined]
        readings = []
        for h in households[:round(count * reached)]:
            for article in rng.sample(articles, k=min(len(articles), rng.randint(1, 3))):
                readings.append({"member_id": ids.get(h), "household_id": h, "campaign_id": campaign.id,
                                 "article_id": article.id, "article_version": article.version,
                                 "read_at": _moment(rng, start, end)})
        if readings:
            await session.execute(insert(Reading), readings)
        attempts = []
        for h in households[:round(count * reached * 0.5)]:
            if h in ids and quizzes:
                article = rng.choice(quizzes)
                total = len(article.quiz)
                finished = _moment(rng, start, end)
                attempts.append({"member_id": ids[h], "household_id": h, "campaign_id": campaign.id,
                                 "article_id": article.id, "article_version": article.version, "answers": [],
                                 "score": rng.randint(max(total - 2, 0), total), "total": total,
                                 "started_at": finished, "finished_at": finished})
        if attempts:
            await session.execute(insert(QuizAttempt), attempts)
        pledges = [{"household_id": h, "campaign_id": campaign.id, "status": "confirmed",
                    "pledge_version": campaign.pledge_version, "locale": "vi", "confirmed_by_id": ids.get(h),
                    "confirmed_by_role": "resident", "confirmed_at": _moment(rng, start, end)}
                   for h in households[:round(count * pledged)]]
        if pledges:
            await session.execute(insert(Pledge), pledges)
        activity.pledges += len(pledges)
    await _broadcasts(session, rng, communes, hamlets, members_of, start, end, activity)
    if keys is not None:
        for number, (kind, text) in enumerate(TIPS):
            tip, _code = await submit_tip(session, keys, TipDraft(kind, hamlets[number % len(hamlets)].id, text), [])
            tip.status = ("handled", "checking", "received")[number % 3]
            activity.tips += 1
    organizations = await _organizations(session, rng, communes, campaign, activity)
    await _models(session, rng, communes, hamlets, organizations, today, activity)
    await _recognitions(session, rng, province, campaign, communes, hamlets, organizations, today, activity)
    await add_milestone(session, campaign, province, "festival_day", None, None, tz, None)
    await add_recognition_calendar(session, province, campaign.year, tz, None, campaign.pledge_version, utcnow())
    await session.flush()
    await _snapshots(session, campaign, province, start, today, tz)
    return activity


async def _broadcasts(session, rng, communes, hamlets, members_of, start, end, activity) -> None:
    """Finished broadcasts of the first commune's officer and the first hamlet's head, delivered."""
    staff = dict((await session.execute(select(Member.user_id, Member.id).where(
        Member.channel == "console", Member.user_id.in_(("2", "3"))))).all())
    for number, text in enumerate(BROADCASTS):
        area = hamlets[0] if number == 0 else communes[0]
        sender = staff.get("2" if number == 0 else "3")
        sent_at = _moment(rng, start, end)
        recipients = [m for hamlet in hamlets if area.contains(hamlet) for m in members_of[hamlet.id]]
        broadcast = Broadcast(sender_id=sender, area_id=area.id, audience="all", text=text, status="done",
                              send_at=sent_at, recipients=len(recipients), finished_at=sent_at + timedelta(minutes=5))
        session.add(broadcast)
        await session.flush()
        rows = [{"source": f"broadcast:{broadcast.id}", "broadcast_id": broadcast.id, "member_id": member,
                 "channel": "console", "chat_id": str(member), "text": text,
                 "status": "sent" if rng.random() > 0.05 else "unreachable", "sent_at": sent_at}
                for _household, member in recipients]
        if rows:
            await session.execute(insert(Delivery), rows)
        activity.broadcasts += 1


async def _organizations(session, rng, communes, campaign, activity) -> list[Organization]:
    """Each commune's agency, school and enterprise; most registered, in chat or on paper."""
    made = []
    for index, commune in enumerate(communes):
        for suffix, kind, name in ORGANIZATIONS:
            organization = Organization(code=f"{commune.code}-{suffix}", kind=kind, commune_id=commune.id,
                                        commune=commune, name=name.format(commune=commune.name), address="",
                                        join_code=await unused_join_code(session))
            session.add(organization)
            await session.flush()
            made.append(organization)
            activity.organizations += 1
            if kind == "enterprise" and index % 2:
                continue  # not every enterprise has registered yet
            session.add(OrganizationRegistration(
                organization_id=organization.id, campaign_id=campaign.id, status="confirmed",
                via="paper" if kind == "agency" else "chat", pledge_version=campaign.pledge_version, locale="vi",
                confirmed_by_role="officer" if kind == "agency" else "representative",
                confirmed_at=_moment(rng, campaign.starts_on, campaign.starts_on + timedelta(days=80))))
    await session.flush()
    return made


async def _models(session, rng, communes, hamlets, organizations, today, activity) -> None:
    """Models of several types: a self-management group in every hamlet, cameras and alarm gongs in
    some, a patrol in every commune, "4 safeties" in agencies, law clubs in schools."""
    types = {m.code: m.id for m in await session.scalars(select(ModelType))}
    statuses = ["effective", "effective", "active", "formal"]
    rows = []

    def model(type_code, name, status, area=None, organization=None, how="") -> None:
        reviewed = today - timedelta(days=rng.randint(20, 400)) if status != "active" else None
        rows.append({"type_id": types[type_code], "area_id": area.id if area else None,
                     "organization_id": organization.id if organization else None, "name": name,
                     "started_on": date(today.year - rng.randint(1, 6), rng.randint(1, 12), 1),
                     "groups": rng.randint(1, 6), "sites": rng.randint(1, 10), "members": rng.randint(8, 120),
                     "status": status, "reviewed_on": reviewed, "how_to_join": how})

    for index, hamlet in enumerate(hamlets):
        model("to-nhan-dan-tu-quan", f"Tổ nhân dân tự quản {hamlet.name}", statuses[index % len(statuses)],
              area=hamlet, how="Họp tối thứ Bảy đầu tháng ở nhà văn hóa; hỏi trưởng ấp để vào tổ.")
        if index % 3 == 0:
            model("camera-an-ninh", f"Camera an ninh {hamlet.name}", "effective", area=hamlet,
                  how="Hộ muốn lắp camera đăng ký với trưởng ấp.")
        if index % 4 == 1:
            model("tieng-keng-an-ninh", f"Tiếng kẻng an ninh {hamlet.name}", "active", area=hamlet)
    for index, commune in enumerate(communes):
        model("tuan-tra-dan-cu", f"Tổ tuần tra “dân cử, dân nuôi” {commune.name}",
              "formal" if index == len(communes) - 1 and len(communes) > 1 else "effective", area=commune)
    for organization in organizations:
        if organization.kind == "agency":
            model("bon-an-toan", f"“4 an toàn về ANTT” — {organization.name}", "effective", organization=organization)
        elif organization.kind == "school":
            model("tuoi-tre-phap-luat", f"CLB Tuổi trẻ với pháp luật — {organization.name}",
                  rng.choice(("effective", "active")), organization=organization)
    await session.execute(insert(MovementModel), rows)
    activity.models += len(rows)


async def _recognitions(session, rng, province, campaign, communes, hamlets, organizations, today,
                        activity) -> None:
    """Last year's decisions for every unit, and this year's recognitions under way."""
    last = await create_campaign(session, province, campaign.year - 1,
                                 f"Phong trào toàn dân bảo vệ an ninh Tổ quốc năm {campaign.year - 1} (dữ liệu mẫu)",
                                 pledge_version=campaign.pledge_version)
    now = utcnow()
    rows = []

    def decided(unit, kind, passed: bool, day: date, number: str) -> None:
        rows.append({"campaign_id": last.id, "unit_kind": kind,
                     "area_id": unit.id if isinstance(unit, Area) else None,
                     "organization_id": None if isinstance(unit, Area) else unit.id,
                     "status": "decided", "result": "passed" if passed else "failed", "decided_on": day,
                     "decision_number": number, "decided_by_role": "officer" if kind != "commune" else "admin",
                     "registered_at": now, "updated_at": now})

    year = last.year
    for index, hamlet in enumerate(hamlets):
        decided(hamlet, "hamlet", index % 6 != 5, date(year, 11, 25), f"{100 + index}/QĐ-UBND")
    for index, commune in enumerate(communes):
        decided(commune, "commune", index % 4 != 3, date(year, 12, 10), f"{20 + index}/QĐ-UBND")
    for index, organization in enumerate(organizations):
        decided(organization, organization.kind, index % 5 != 4, date(year, 12, 5), f"{300 + index}/QĐ-UBND")
    await session.execute(insert(Recognition), rows)
    activity.recognitions += len(rows)
    # This year: every hamlet registered in the first quarter, some have met to assess themselves.
    steps = ["registered", "registered", "self_assessed", "proposed"]
    rows = [{"campaign_id": campaign.id, "unit_kind": "hamlet", "area_id": hamlet.id, "organization_id": None,
             "status": steps[index % len(steps)], "registered_at": now, "updated_at": now}
            for index, hamlet in enumerate(hamlets)]
    rows += [{"campaign_id": campaign.id, "unit_kind": "commune", "area_id": commune.id, "organization_id": None,
              "status": "registered", "registered_at": now, "updated_at": now} for commune in communes]
    await session.execute(insert(Recognition), rows)
    activity.recognitions += len(rows)
    # The hamlets further along have their ticked criteria met.
    criteria = list(await session.scalars(select(RecognitionCriterion.id).where(
        RecognitionCriterion.unit_kind == "hamlet", RecognitionCriterion.rule.is_(None),
        RecognitionCriterion.area_id.is_(None))))
    ahead = await session.scalars(select(Recognition.id).where(
        Recognition.campaign_id == campaign.id, Recognition.status.in_(("self_assessed", "proposed"))))
    checks = [{"recognition_id": recognition, "criterion_id": criterion, "met": True, "checked_by_role": "officer",
               "checked_at": now} for recognition in ahead for criterion in criteria]
    if checks:
        await session.execute(insert(CriterionCheck), checks)


async def _snapshots(session, campaign, province, start, today, tz) -> None:
    """Today's snapshot, and weekly ones before it rising to it: the progress chart has a line."""
    if not campaign.starts_on <= today <= campaign.ends_on:
        return
    await t.sync_tallies(session, campaign, today, tz)
    tallies = await t.compute_tallies(session, campaign, province, tz)
    rows = []
    for weeks in range(1, 9):
        day = today - timedelta(weeks=weeks)
        if day < start:
            break
        share = max(0.0, 1 - weeks / 9)
        for area_id, tally in tallies.areas.items():
            rows.append({"campaign_id": campaign.id, "area_id": area_id, "indicator": t.HOUSEHOLDS, "day": day,
                         "value": tally.counts[t.HOUSEHOLDS]})
            for indicator in (t.REACHED, t.PLEDGED):
                rows.append({"campaign_id": campaign.id, "area_id": area_id, "indicator": indicator, "day": day,
                             "value": round(tally.counts[indicator] * share)})
    if rows:
        await session.execute(insert(Tally), rows)
