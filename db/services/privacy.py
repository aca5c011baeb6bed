"""What Bình Yên keeps about a member, and forgetting it on request."""

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Member, Pledge, QuizAttempt, Reading


@dataclass
class StoredData:
    """Everything stored about one member, for /privacy."""

    member: Member
    readings: int
    quizzes: int
    pledges_confirmed: int


async def stored_data(session: AsyncSession, member: Member) -> StoredData:
    """Count what is linked to the member."""
    async def count(model, column) -> int:
        return await session.scalar(select(func.count()).select_from(model).where(column == member.id)) or 0

    return StoredData(
        member,
        await count(Reading, Reading.member_id),
        await count(QuizAttempt, QuizAttempt.member_id),
        await count(Pledge, Pledge.confirmed_by_id),
    )


async def forget_member(session: AsyncSession, member: Member) -> None:
    """Delete the member's personal data: the member row goes, and with it the link from their
    readings, quiz answers and pledges (those stay the household's, as the campaign counted them)."""
    member_id = member.id
    for model, column in ((Reading, Reading.member_id), (QuizAttempt, QuizAttempt.member_id),
                          (Pledge, Pledge.confirmed_by_id)):
        await session.execute(
            model.__table__.update().where(column == member_id).values({column.key: None})
        )
    await session.execute(delete(Member).where(Member.id == member_id))
    session.expunge(member)
