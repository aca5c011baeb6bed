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
