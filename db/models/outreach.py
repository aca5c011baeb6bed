"""Outreach: who read which article (reach), and quiz attempts."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utcnow

# A reading or a quiz attempt is the member's for one article version, household and campaign:
# the same article read again next year, or in the household the member moved to, counts again.
PER_CAMPAIGN = ("member_id", "article_id", "article_version", "campaign_id", "household_id")


class Reading(Base):
    """A member marked an article read ("Đã đọc") or passed its quiz, which counts their household
    as reached in the campaign; once per article version, household and campaign.

    Stored only when it counts: the member is in an approved household and a campaign is open
    (rows from before migration 0007 may lack either). The household and campaign are kept, so
    reach stays counted when the member later asks to be forgotten (member_id becomes NULL).
    """

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint(*PER_CAMPAIGN, name="uq_readings_per_campaign"),
        Index("ix_readings_campaign_household", "campaign_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    article_id: Mapped[str] = mapped_column(String(64))
    article_version: Mapped[str] = mapped_column(String(16))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizAttempt(Base):
    """A member's answers to an article's quiz; the first finished attempt is the score.

    One per article version, household and campaign, like readings; an attempt made outside an
    approved household or an open campaign has neither (and counts for nobody)."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint(*PER_CAMPAIGN, name="uq_quiz_attempts_per_campaign"),
        Index("ix_quiz_attempts_campaign_household", "campaign_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    article_id: Mapped[str] = mapped_column(String(64))
    article_version: Mapped[str] = mapped_column(String(16))
    # The chosen option index of each question answered so far, in order.
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    score: Mapped[int] = mapped_column(SmallInteger, default=0)
    total: Mapped[int] = mapped_column(SmallInteger)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
