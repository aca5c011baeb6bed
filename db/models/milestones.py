"""The campaign calendar: dated milestones of a campaign and the reminders hung off them."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow
from db.models.campaigns import Campaign
from db.models.utc import UTCDateTime

MILESTONE_KINDS = (
    "registration_deadline", "festival_day", "six_month_review", "year_end_review",
    # The recognition's assessment periods end, and its files are due (Thông tư 124/2021).
    "hamlet_period_end", "unit_period_end", "hamlet_files_due", "unit_files_due", "custom",
)
AUDIENCES = ("all", "unpledged", "unreached", "heads", "representatives")
KIND_CHECK = "kind IN ({})".format(", ".join(f"'{kind}'" for kind in MILESTONE_KINDS))
AUDIENCE_CHECK = "audience IN ({})".format(", ".join(f"'{audience}'" for audience in AUDIENCES))
REMINDER_STATUSES = ("planned", "sent", "missed")


class Milestone(Base):
    """A dated step of a campaign (e.g. the festival day, 19 August) for an area and below."""

    __tablename__ = "milestones"
    __table_args__ = (
        CheckConstraint(KIND_CHECK, name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    # Who the milestone applies to: the campaign's area, or a commune that added its own.
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # Custom milestones have a title; the others are named in the reader's language.
    title: Mapped[str | None] = mapped_column(String(200))
    happens_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship(lazy="joined", innerjoin=True)
    area: Mapped[Area] = relationship(lazy="joined", innerjoin=True)


class Reminder(Base):
    """A message to an audience some days before a milestone, at a local time of day."""

    __tablename__ = "reminders"
    __table_args__ = (
        CheckConstraint(AUDIENCE_CHECK, name="audience"),
        CheckConstraint("status IN ('planned', 'sent', 'missed')", name="status"),
        CheckConstraint("days_before >= 0 AND days_before <= 366", name="days_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"), index=True)
    # The audience lives in this area's subtree (within the milestone's area).
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    days_before: Mapped[int] = mapped_column(SmallInteger)
    at_time: Mapped[str] = mapped_column(String(5))  # "08:00", local time of the deployment
    audience: Mapped[str] = mapped_column(String(16))
    # A text typed by the officer; without it the milestone's template is used.
    text: Mapped[str | None] = mapped_column(String(3000))
    # When it fires (UTC), computed from the milestone date, days_before, at_time and quiet hours.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    milestone: Mapped[Milestone] = relationship(lazy="joined", innerjoin=True)
    area: Mapped[Area] = relationship(lazy="joined", innerjoin=True)
