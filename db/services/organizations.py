"""Agencies, enterprises and schools: join codes, representatives, and their registration for a
campaign (confirmed in chat, or recorded by an officer from paper; withdrawn with a reason)."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Campaign, Member, Organization, OrganizationRegistration, utcnow
from db.services.areas import new_join_code
from db.services.campaigns import current_campaign
from db.services.members import OFFICER_ROLES, scope_covers
from db.services.sql import insert_returning
from db.text import N_, Problem, nfc, visible_text

KIND_LABELS = {
    "agency": N_("Cơ quan"),
    "enterprise": N_("Doanh nghiệp"),
    "school": N_("Cơ sở giáo dục"),
}
# What the role of a representative's confirmation is stored as (members keep their own role).
REPRESENTATIVE = "representative"
MAX_REASON = 500


async def unused_join_code(session: AsyncSession) -> str:
    """A join code no hamlet and no organization has: /join CODE finds exactly one of them."""
    while True:
        code = new_join_code()
        taken = await session.scalar(select(func.count()).select_from(Area).where(Area.join_code == code))
        taken = taken or await session.scalar(
            select(func.count()).select_from(Organization).where(Organization.join_code == code))
        if not taken:
            return code


async def get_organization(session: AsyncSession, code: str) -> Organization | None:
    """The organization with this code (stored in upper case), or None."""
    return await session.scalar(select(Organization).where(Organization.code == code.strip().upper()))


async def require_organization(session: AsyncSession, code: str) -> Organization:
    """The organization with this code, or a Problem saying there is none."""
    organization = await get_organization(session, code)
    if organization is None:
        raise Problem(N_("Không có cơ quan, doanh nghiệp, trường học mã {code}."), code=code)
    return organization


async def organization_by_join_code(session: AsyncSession, join_code: str) -> Organization | None:
    """The organization a join code (as typed: any case, spaces) belongs to."""
    code = "".join(join_code.split()).upper()
    if not code:
        return None
    return await session.scalar(select(Organization).where(Organization.join_code == code))


def in_subtree(area: Area) -> Select:
    """Ids of the communes in `area`'s subtree (itself included)."""
    return select(Area.id).where(Area.path.startswith(area.path, autoescape=True))


async def organizations_in(
    session: AsyncSession, area: Area, page: int, size: int
) -> tuple[list[Organization], int]:
    """One page of the organizations of `area`'s communes, by commune and name, and how many."""
    where = Organization.commune_id.in_(in_subtree(area))
    total = await session.scalar(select(func.count()).select_from(Organization).where(where))
    statement = (select(Organization).join(Organization.commune).where(where)
                 .order_by(Area.name, Organization.name).offset(page * size).limit(size))
    return list(await session.scalars(statement)), total or 0


async def represented(session: AsyncSession, member: Member | None) -> Organization | None:
    """The organization the member represents, if any."""
    if member is None or member.organization_id is None:
        return None
    return await session.get(Organization, member.organization_id)


async def become_representative(session: AsyncSession, member: Member, organization: Organization) -> None:
    """The member now represents the organization (a member represents one at a time)."""
    member.organization_id = organization.id
    await session.flush()


@dataclass
class RegistrationPlace:
    """An organization, the campaign open for its commune, and its registration if any."""

    organization: Organization
    campaign: Campaign
    registration: OrganizationRegistration | None


async def registration_place(session: AsyncSession, organization: Organization, today: date) -> RegistrationPlace:
    """The organization's open campaign and its registration, or a Problem when none is open."""
    campaign = await current_campaign(session, organization.commune, today)
    if campaign is None:
        raise Problem(N_("Chưa có đợt thi đua nào đang mở cho {commune}."), commune=organization.commune.name)
    registration = await registration_of(session, organization, campaign)
    return RegistrationPlace(organization, campaign, registration)


async def registration_of(
    session: AsyncSession, organization: Organization, campaign: Campaign
) -> OrganizationRegistration | None:
    """The organization's registration for the campaign, or None."""
    return await session.scalar(select(OrganizationRegistration).where(
        OrganizationRegistration.organization_id == organization.id,
        OrganizationRegistration.campaign_id == campaign.id,
    ).execution_options(populate_existing=True))


def may_record(member: Member | None, organization: Organization) -> bool:
    """Officers and admins whose scope covers the organization's commune record for it."""
    return member is not None and member.role in OFFICER_ROLES and scope_covers(member, organization.commune)


async def register(
    session: AsyncSession, member: Member, place: RegistrationPlace, locale: str, via: str
) -> tuple[OrganizationRegistration, bool]:
    """Register the organization for the campaign: `via` "chat" by its representative, "paper"
    by an officer of its commune. (registration, False) when it was registered already; a
    registration withdrawn before is renewed, keeping the withdrawal's date and reason."""
    organization = place.organization
    if via == "chat" and member.organization_id != organization.id:
        raise Problem(N_("Bạn không phải người đại diện của đơn vị này."))
    if via == "paper" and not may_record(member, organization):
        raise Problem(N_("Đơn vị {code} không thuộc địa bàn bạn phụ trách."), code=organization.code)
    values = {
        "organization_id": organization.id, "campaign_id": place.campaign.id, "status": "confirmed",
        "via": via, "pledge_version": place.campaign.pledge_version, "locale": locale,
        "confirmed_by_id": member.id,
        "confirmed_by_role": REPRESENTATIVE if via == "chat" else member.role, "confirmed_at": utcnow(),
    }
    registration = await insert_returning(session, OrganizationRegistration, values,
                                          ["organization_id", "campaign_id"])
    if registration is not None:
        return registration, True
    registration = await registration_of(session, organization, place.campaign)
    if registration.status == "confirmed":
        return registration, False
    for key in ("status", "via", "pledge_version", "locale", "confirmed_by_id", "confirmed_by_role",
                "confirmed_at"):
        setattr(registration, key, values[key])
    await session.flush()
    return registration, True


async def withdraw(
    session: AsyncSession, member: Member, place: RegistrationPlace, reason: str
) -> OrganizationRegistration:
    """Withdraw the organization's confirmed registration, keeping the reason: its
    representative, or an officer of its commune."""
    organization = place.organization
    if member.organization_id != organization.id and not may_record(member, organization):
        raise Problem(N_("Đơn vị {code} không thuộc địa bàn bạn phụ trách."), code=organization.code)
    reason = nfc(visible_text(reason))
    if not reason or len(reason) > MAX_REASON or any(ord(ch) < 32 for ch in reason):
        raise Problem(N_("Lý do cần từ 1 đến {limit} ký tự."), limit=MAX_REASON)
    registration = place.registration
    if registration is None or registration.status != "confirmed":
        raise Problem(N_("{name} chưa đăng ký nên không có gì để rút."), name=organization.name)
    registration.status = "withdrawn"
    registration.withdrawn_at = utcnow()
    registration.withdraw_reason = reason
    await session.flush()
    return registration


async def registrations_of(
    session: AsyncSession, campaign: Campaign, organizations: list[Organization]
) -> dict[int, OrganizationRegistration]:
    """The registrations of these organizations for the campaign, by organization id."""
    if not organizations:
        return {}
    rows = await session.scalars(select(OrganizationRegistration).where(
        OrganizationRegistration.campaign_id == campaign.id,
        OrganizationRegistration.organization_id.in_([o.id for o in organizations])))
    return {row.organization_id: row for row in rows}


