"""Reach: readings of articles and quiz attempts, counted per household and campaign."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Campaign, Household, Member, QuizAttempt, Reading, utcnow
from db.models.outreach import PER_CAMPAIGN
from db.services.campaigns import current_campaign
from db.services.sql import insert_ignore

PASS_SHARE = 0.6  # a quiz counts as passed (and the household as reached) from 60% right


@dataclass
class Reach:
    """Where the member's reading counts today: their approved household in the open campaign;
    either is None when it does not count (no household, waiting for approval, no campaign)."""

    household: Household | None
    campaign: Campaign | None

    @property
    def counts(self) -> bool:
        """True when a reading now counts the household as reached."""
        return self.household is not None and self.campaign is not None

    def ids(self) -> dict[str, int | None]:
        """The household and campaign ids a row of this reach carries (both None unless it counts)."""
        if not self.counts:
            return {"household_id": None, "campaign_id": None}
        return {"household_id": self.household.id, "campaign_id": self.campaign.id}


async def reach_of(session: AsyncSession, member: Member, today: date) -> Reach:
    """The household and campaign a reading by `member` counts for today."""
    household = member.household
    if household is None or household.status != "active":
        return Reach(None, None)
    return Reach(household, await current_campaign(session, household.hamlet, today))


def _per_campaign(model, member: Member, article_id: str, version: str, reach: Reach):
    """The row of this member, article version, household and campaign (NULLs match NULLs)."""
    ids = reach.ids()
    return (
        model.member_id == member.id, model.article_id == article_id,
        model.article_version == version,
        model.household_id.is_not_distinct_from(ids["household_id"]),
        model.campaign_id.is_not_distinct_from(ids["campaign_id"]),
    )


async def record_reading(
    session: AsyncSession, member: Member, article_id: str, version: str, today: date
) -> tuple[Reach, bool]:
    """Note that the member read this article version, counting their household as reached in
    the open campaign; (reach, False) when noted before in this campaign, or when it does not
    count (then nothing is stored, and a press once it counts records it)."""
    reach = await reach_of(session, member, today)
    if not reach.counts:
        return reach, False
    values = {
        "member_id": member.id, **reach.ids(),
        "article_id": article_id, "article_version": version, "read_at": utcnow(),
    }
    return reach, await insert_ignore(session, Reading, values, list(PER_CAMPAIGN))


@dataclass
class Answered:
    """The outcome of answering one question."""

    attempt: QuizAttempt
    correct: bool
    finished: bool
    passed: bool
    reach: Reach | None = None


async def quiz_attempt(
    session: AsyncSession, member: Member, article_id: str, version: str, total: int, today: date
) -> QuizAttempt:
    """The member's attempt at this quiz for their household and the open campaign, started now
    if they never began it there (outside them, one attempt that counts for nobody)."""
    reach = await reach_of(session, member, today)
    statement = select(QuizAttempt).where(
        *_per_campaign(QuizAttempt, member, article_id, version, reach)
    ).order_by(QuizAttempt.id).limit(1).with_for_update()
    attempt = await session.scalar(statement.execution_options(populate_existing=True))
    if attempt is not None:
        return attempt
    # ON CONFLICT settles two presses at once where the key has no NULLs; without a household or
    # campaign the member's own updates are one at a time anyway (the dispatcher's isolation).
    await insert_ignore(session, QuizAttempt, {
        "member_id": member.id, **reach.ids(), "article_id": article_id,
        "article_version": version, "answers": [], "score": 0, "total": total,
        "started_at": utcnow(),
    }, list(PER_CAMPAIGN))
    return await session.scalar(statement.execution_options(populate_existing=True))


def passed(attempt: QuizAttempt) -> bool:
    """True when the finished attempt reached the pass mark."""
    return attempt.finished_at is not None and attempt.score >= PASS_SHARE * attempt.total


async def answer_question(
    session: AsyncSession, member: Member, attempt: QuizAttempt, number: int, choice: int,
    right: int, today: date,
) -> Answered | None:
    """Record the answer to question `number` (0-based); None when it is not the question due
    (answered before, or a stale button), so pressing twice changes nothing."""
    if attempt.finished_at is not None or number != len(attempt.answers):
        return None
    correct = choice == right
    attempt.answers = [*attempt.answers, choice]
    attempt.score += 1 if correct else 0
    finished = len(attempt.answers) >= attempt.total
    if finished:
        attempt.finished_at = utcnow()
    await session.flush()
    reach = None
    if finished and passed(attempt):
        # Passing the quiz counts as having read the article.
        reach, _new = await record_reading(session, member, attempt.article_id,
                                           attempt.article_version, today)
    return Answered(attempt, correct, finished, finished and passed(attempt), reach)
