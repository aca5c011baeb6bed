"""Agencies, enterprises and schools (each in a commune) and their registrations per campaign."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow

ORGANIZATION_KINDS = ("agency", "enterprise", "school")
REGISTRATION_VIA = ("chat", "paper")


class Organization(Base):
    """A cơ quan, doanh nghiệp or cơ sở giáo dục of a commune, with the code its representative
    types (or scans) to join it in chat."""

    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint("kind IN ('agency', 'enterprise', 'school')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    commune_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    join_code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    commune: Mapped[Area] = relationship(lazy="joined", innerjoin=True)


class OrganizationRegistration(Base):
    """An organization's registration for a campaign (the unit's pledge), once per unit and
    campaign: confirmed by its representative in chat, or recorded by an officer from paper;
    withdrawing keeps the row with its reason, as household pledges do."""

    __tablename__ = "organization_registrations"
    __table_args__ = (
        UniqueConstraint("organization_id", "campaign_id"),
        CheckConstraint("status IN ('confirmed', 'withdrawn')", name="status"),
        CheckConstraint("via IN ('chat', 'paper')", name="via"),
        Index("ix_organization_registrations_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    via: Mapped[str] = mapped_column(String(8))
    pledge_version: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    # The representative who confirmed, or the officer who recorded the paper; their role stays
    # when the link goes (they asked to be forgotten).
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    confirmed_by_role: Mapped[str] = mapped_column(String(16))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdraw_reason: Mapped[str | None] = mapped_column(String(500))

    organization: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)
