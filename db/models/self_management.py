"""Self-management models (mô hình tự quản): a catalog of types and a registry per unit."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow
from db.models.organizations import Organization

MODEL_STATUSES = ("active", "effective", "formal", "removed")


class ModelType(Base):
    """A kind of model ("Tổ nhân dân tự quản", "Camera an ninh"); the seeded ones belong to no
    area, a province's own ones to that province."""

    __tablename__ = "model_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def name(self, locale: str | None) -> str:
        """The type's name in `locale` (English for "en", Vietnamese otherwise)."""
        return self.name_en if locale == "en" and self.name_en else self.name_vi


class MovementModel(Base):
    """One model run by a hamlet, a commune or an organization: its groups (tổ), sites (điểm)
    and members, how it was rated at the last review, and how residents take part."""

    __tablename__ = "movement_models"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'effective', 'formal', 'removed')", name="status"),
        CheckConstraint("(area_id IS NULL) <> (organization_id IS NULL)", name="one_unit"),
        CheckConstraint("groups >= 0 AND sites >= 0 AND members >= 0", name="counts"),
        Index("ix_movement_models_area_id", "area_id"),
        Index("ix_movement_models_organization_id", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("model_types.id"))
    # The unit running it: a hamlet or commune (area), or an organization.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[date | None]
    groups: Mapped[int] = mapped_column(default=0)
    sites: Mapped[int] = mapped_column(default=0)
    members: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    removed_reason: Mapped[str | None] = mapped_column(String(500))
    reviewed_on: Mapped[date | None]
    # How residents take part (where and when it meets, whom to ask), shown to them.
    how_to_join: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    type: Mapped[ModelType] = relationship(lazy="joined", innerjoin=True)
    area: Mapped[Area | None] = relationship(lazy="joined")
    organization: Mapped[Organization | None] = relationship(lazy="joined")
