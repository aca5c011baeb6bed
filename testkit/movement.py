"""Arranging the movement's units for tests: organizations, models, recognitions."""

from sqlalchemy import select

from db.models import Area, ModelType, MovementModel, Organization
from db.services.organizations import unused_join_code


async def add_organization(session, commune: Area, code: str, name: str, kind: str = "agency") -> Organization:
    """An agency, enterprise or school of `commune`, with its join code (flushed, not committed)."""
    organization = Organization(code=code, name=name, kind=kind, commune_id=commune.id, commune=commune,
                                address="", join_code=await unused_join_code(session))
    session.add(organization)
    await session.flush()
    return organization


async def add_model(session, name: str, status: str = "active", *, area: Area | None = None,
                    organization: Organization | None = None, type_code: str = "to-nhan-dan-tu-quan",
                    **values) -> MovementModel:
    """A self-management model of an area or an organization (flushed, not committed)."""
    model_type = await session.scalar(select(ModelType).where(ModelType.code == type_code))
    model = MovementModel(type_id=model_type.id, area_id=area.id if area else None,
                          organization_id=organization.id if organization else None, name=name,
                          status=status, **values)
    session.add(model)
    await session.flush()
    return model


async def pledge_all(session, campaign, households, leave_out: int = 0) -> None:
    """Confirmed pledges for the households but the last `leave_out` (flushed, not committed)."""
    from sqlalchemy import insert

    from db.models import Pledge, utcnow

    chosen = households[:len(households) - leave_out]
    if chosen:
        await session.execute(insert(Pledge), [
            {"household_id": h.id, "campaign_id": campaign.id, "status": "confirmed", "pledge_version": "2026.1",
             "locale": "vi", "confirmed_by_role": "resident", "confirmed_at": utcnow()} for h in chosen])


async def recognitions(session, campaign, units, status: str = "registered", result: str | None = None) -> None:
    """Recognitions of these areas or organizations in the campaign (flushed, not committed)."""
    from db.models import Area, Recognition, utcnow

    for unit in units:
        is_area = isinstance(unit, Area)
        session.add(Recognition(
            campaign_id=campaign.id, unit_kind=unit.level if is_area else unit.kind,
            area_id=unit.id if is_area else None, organization_id=None if is_area else unit.id,
            status=status, result=result, registered_at=utcnow(), updated_at=utcnow(),
            decision_number="1/QĐ" if status == "decided" else None,
            decided_on=campaign.starts_on if status == "decided" else None))
    await session.flush()


async def registrations(session, campaign, organizations) -> None:
    """Confirmed paper registrations of these organizations (flushed, not committed)."""
    from db.models import OrganizationRegistration, utcnow

    for organization in organizations:
        session.add(OrganizationRegistration(
            organization_id=organization.id, campaign_id=campaign.id, status="confirmed", via="paper",
            pledge_version="2026.1", locale="vi", confirmed_by_role="officer", confirmed_at=utcnow()))
    await session.flush()
