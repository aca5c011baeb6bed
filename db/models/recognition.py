"""Recognition "An toàn về an ninh, trật tự": the criteria of each unit kind (data a province
may edit), a unit's recognition per campaign, and the officers' ticks on its criteria."""

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow
from db.models.organizations import Organization

UNIT_KINDS = ("hamlet", "commune", "agency", "enterprise", "school")
RECOGNITION_STATUSES = ("registered", "self_assessed", "proposed", "decided")
RESULTS = ("passed", "failed")


class RecognitionCriterion(Base):
    """One criterion of a unit kind: numbered as the circular numbers it, labelled in vi and en,
    computed by the bot (`rule` "computed:<name>") or ticked by an officer (no rule).

    The seeded ones belong to no area; a province's own ones apply below it. A retired criterion
    is no longer asked, its old ticks stay."""

    __tablename__ = "recognition_criteria"
    __table_args__ = (
        CheckConstraint(
            "unit_kind IN ('hamlet', 'commune', 'agency', 'enterprise', 'school')", name="unit_kind"),
        Index("ix_recognition_criteria_unit_kind", "unit_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(SmallInteger)
    label_vi: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    rule: Mapped[str | None] = mapped_column(String(64))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def label(self, locale: str | None) -> str:
        """The criterion's wording in `locale` (English for "en", Vietnamese otherwise)."""
        return self.label_en if locale == "en" and self.label_en else self.label_vi


class Recognition(Base):
    """A unit's way through one campaign's recognition: registered → self-assessed → proposed →
    decided (passed: đạt, failed: chưa đạt), with the decision's date, number and who took it."""

    __tablename__ = "recognitions"
    __table_args__ = (
        UniqueConstraint("campaign_id", "area_id"),
        UniqueConstraint("campaign_id", "organization_id"),
        CheckConstraint(
            "unit_kind IN ('hamlet', 'commune', 'agency', 'enterprise', 'school')", name="unit_kind"),
        CheckConstraint(
            "status IN ('registered', 'self_assessed', 'proposed', 'decided')", name="status"),
        CheckConstraint("result IS NULL OR result IN ('passed', 'failed')", name="result"),
        CheckConstraint("(area_id IS NULL) <> (organization_id IS NULL)", name="one_unit"),
        Index("ix_recognitions_area_id", "area_id"),
        Index("ix_recognitions_organization_id", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    unit_kind: Mapped[str] = mapped_column(String(16))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(16), default="registered")
    result: Mapped[str | None] = mapped_column(String(8))
    decided_on: Mapped[date | None]
    decision_number: Mapped[str | None] = mapped_column(String(64))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    decided_by_role: Mapped[str | None] = mapped_column(String(16))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[Area | None] = relationship(lazy="joined")
    organization: Mapped[Organization | None] = relationship(lazy="joined")


class CriterionCheck(Base):
    """An officer's tick on a criterion of a recognition: met or not, with an optional note."""

    __tablename__ = "criterion_checks"
    __table_args__ = (UniqueConstraint("recognition_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recognition_id: Mapped[int] = mapped_column(ForeignKey("recognitions.id"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("recognition_criteria.id"))
    met: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(500))
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    checked_by_role: Mapped[str] = mapped_column(String(16))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
