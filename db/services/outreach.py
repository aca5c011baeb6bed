"""Reach: readings of articles and quiz attempts, counted per household and campaign."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Campaign, Member, QuizAttempt, Reading, utcnow
from db.services.campaigns import current_campaign
from db.services.sql import insert_ignore

PASS_SHARE = 0.6  # a quiz counts as passed (and the household as reached) from 60% right


async def _campaign_of(session: AsyncSession, member: Member, today: date) -> Campaign | None:
    if member.household is None or member.household.status != "active":
        return None
    return await current_campaign(session, member.household.hamlet, today)


async def record_reading(
    session: AsyncSession, member: Member, article_id: str, version: str, today: date
) -> bool:
    """Note that the member read this article version; False when noted before (nothing changes).

    The reading carries the member's household and the campaign running today, which is
    what makes the household count as reached.
    """
    campaign = await _campaign_of(session, member, today)
    household_id = member.household_id if member.household and member.household.status == "active" else None
    values = {
        "member_id": member.id, "household_id": household_id,
        "campaign_id": campaign.id if campaign else None,
        "article_id": article_id, "article_version": version, "read_at": utcnow(),
    }
    return await insert_ignore(session, Reading, values, ["member_id", "article_id", "article_version"])


@dataclass
class Answered:
    """The outcome of answering one question."""

    attempt: QuizAttempt
    correct: bool
    finished: bool
    passed: bool


async def quiz_attempt(
    session: AsyncSession, member: Member, article_id: str, version: str, total: int, today: date
) -> QuizAttempt:
    """The member's attempt at this quiz, started now if they never began it."""
    campaign = await _campaign_of(session, member, today)
    household_id = member.household_id if campaign else None
    await insert_ignore(session, QuizAttempt, {
        "member_id": member.id, "household_id": household_id,
        "campaign_id": campaign.id if campaign else None, "article_id": article_id,
        "article_version": version, "answers": [], "score": 0, "total": total,
        "started_at": utcnow(),
    }, ["member_id", "article_id", "article_version"])
    statement = select(QuizAttempt).where(
        QuizAttempt.member_id == member.id, QuizAttempt.article_id == article_id,
        QuizAttempt.article_version == version,
    ).with_for_update()
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
    if finished and passed(attempt):
        # Passing the quiz counts as having read the article.
        await record_reading(session, member, attempt.article_id, attempt.article_version, today)
    return Answered(attempt, correct, finished, finished and passed(attempt))
