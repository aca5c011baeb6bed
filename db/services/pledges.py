"""Household pledges: confirm once per household and campaign, withdraw with a reason; each
change kept in the pledge's history with the member who made it."""

import html
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Campaign, Household, Member, Pledge, PledgeEvent, utcnow
from db.services.campaigns import current_campaign
from db.services.deliveries import enqueue_one
from db.services.sql import insert_returning
from db.text import N_, Problem, Translator, nfc, visible_text

MAX_REASON = 500


@dataclass
class PledgeContext:
    """Where a member stands: their household, the open campaign and the pledge if any."""

    household: Household
    campaign: Campaign
    pledge: Pledge | None


async def pledge_place(session: AsyncSession, member: Member | None, today: date) -> PledgeContext:
    """The member's household and open campaign (the pledge not yet read), or a Problem saying
    why they cannot pledge."""
    if member is None or member.household is None:
        raise Problem(N_("Bạn chưa ở trong hộ nào. Gõ /join để tham gia ấp và chọn hộ của mình."))
    household = member.household
    if household.status == "pending":
        raise Problem(N_("Hộ của bạn đang chờ trưởng ấp duyệt. Khi được duyệt, bạn xác nhận cam kết được."))
    campaign = await current_campaign(session, household.hamlet, today)
    if campaign is None:
        raise Problem(N_("Chưa có đợt thi đua nào đang mở cho ấp của bạn. Bạn quay lại sau nhé."))
    return PledgeContext(household, campaign, None)


async def pledge_context(session: AsyncSession, member: Member | None, today: date) -> PledgeContext:
    """The member's household, open campaign and pledge, or a Problem saying why they cannot pledge."""
    context = await pledge_place(session, member, today)
    context.pledge = await _pledge(session, context.household, context.campaign)
    return context


async def _pledge(session: AsyncSession, household: Household, campaign: Campaign) -> Pledge | None:
    return await session.scalar(select(Pledge).where(
        Pledge.household_id == household.id, Pledge.campaign_id == campaign.id
    ).execution_options(populate_existing=True))


async def confirm_pledge(
    session: AsyncSession, member: Member, place: PledgeContext, locale: str
) -> tuple[PledgeContext, bool]:
    """Confirm the household's pledge for the campaign of `place` (from pledge_place); (context,
    False) when it was already confirmed. Two members confirming at once make exactly one
    pledge: the insert settles it on the unique key, and the common case (no pledge yet) costs
    that one statement."""
    values = {
        "household_id": place.household.id, "campaign_id": place.campaign.id,
        "status": "confirmed", "pledge_version": place.campaign.pledge_version,
        "locale": locale, "confirmed_by_id": member.id, "confirmed_by_role": member.role,
        "confirmed_at": utcnow(),
    }
    context = PledgeContext(place.household, place.campaign, None)
    context.pledge = await insert_returning(session, Pledge, values, ["household_id", "campaign_id"])
    if context.pledge is not None:
        await _confirmed(session, context.pledge, member)
        return context, True
    context.pledge = pledge = await _pledge(session, place.household, place.campaign)
    if pledge.status != "withdrawn":
        return context, False
    # Confirming again after a withdrawal renews the pledge; the withdrawal's date and reason
    # stay (the household's history: it withdrew, then confirmed again).
    for key in ("status", "pledge_version", "locale", "confirmed_by_id", "confirmed_by_role",
                "confirmed_at"):
        setattr(pledge, key, values[key])
    await _confirmed(session, pledge, member)
    return context, True


async def _confirmed(session: AsyncSession, pledge: Pledge, member: Member) -> None:
    session.add(PledgeEvent(pledge_id=pledge.id, kind="confirmed", member_id=member.id, role=member.role,
                            created_at=pledge.confirmed_at))
    await session.flush()


async def withdraw_pledge(
    session: AsyncSession, member: Member, today: date, reason: str, translator: Translator, now: datetime,
) -> Pledge:
    """Withdraw the household's confirmed pledge, keeping the reason and who withdrew it (in
    the pledge's history); the household's other members and the hamlet's heads are told
    through the delivery worker."""
    reason = nfc(visible_text(reason))
    if not reason or len(reason) > MAX_REASON:
        raise Problem(N_("Lý do cần từ 1 đến {limit} ký tự."), limit=MAX_REASON)
    context = await pledge_context(session, member, today)
    pledge = context.pledge
    if pledge is None or pledge.status != "confirmed":
        raise Problem(N_("Hộ của bạn chưa xác nhận cam kết nên không có gì để rút."))
    pledge.status = "withdrawn"
    pledge.withdrawn_at = utcnow()
    pledge.withdraw_reason = reason
    event = PledgeEvent(pledge_id=pledge.id, kind="withdrawn", member_id=member.id, role=member.role,
                        created_at=pledge.withdrawn_at)
    session.add(event)
    await session.flush()
    household = context.household
    heads = await session.scalars(select(Member).where(
        Member.role == "hamlet_head", Member.area_id == household.hamlet_id))
    others = await session.scalars(select(Member).where(
        Member.household_id == household.id, Member.id != member.id))
    told = {member.id}
    for recipient in [*others, *heads]:
        if recipient.id in told or recipient.unreachable_at is not None:
            continue
        told.add(recipient.id)
        text = translator(recipient.locale, N_(
            "Hộ {head} ({code}) vừa rút cam kết năm {year} (thành viên số {member} rút). Lý do: "
            "{reason}\nNếu hộ vẫn giữ cam kết, một thành viên gõ /pledge để xác nhận lại.")).format(
            head=html.escape(household.head_name, quote=False), code=household.code,
            year=context.campaign.year, member=member.id, reason=html.escape(reason, quote=False))
        await enqueue_one(session, f"pledge:{pledge.id}:withdrawn:{event.id}", recipient, text, now)
    return pledge


async def recent_withdrawals(
    session: AsyncSession, hamlet_id: int, campaign: Campaign, limit: int = 5,
) -> list[tuple[Household, PledgeEvent]]:
    """The hamlet's latest withdrawals in the campaign, newest first, with who withdrew."""
    rows = await session.execute(
        select(Household, PledgeEvent).join(Pledge, Pledge.household_id == Household.id)
        .join(PledgeEvent, PledgeEvent.pledge_id == Pledge.id)
        .where(Household.hamlet_id == hamlet_id, Pledge.campaign_id == campaign.id,
               PledgeEvent.kind == "withdrawn")
        .order_by(PledgeEvent.created_at.desc(), PledgeEvent.id.desc()).limit(limit))
    return [(household, event) for household, event in rows.all()]
