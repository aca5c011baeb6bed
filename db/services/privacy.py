"""What Bình Yên keeps about a member, and forgetting it on request."""

from dataclasses import dataclass

from sqlalchemy import String, cast, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Delivery, JoinRequest, Member, Pledge, PledgeEvent, QuizAttempt, Reading

# What a forgotten member's pending messages say about why they were never sent.
FORGOTTEN = "the recipient asked to be forgotten"


@dataclass
class StoredData:
    """Everything stored about one member, for /privacy."""

    member: Member
    readings: int
    quizzes: int
    pledges_confirmed: int
    messages: int


async def stored_data(session: AsyncSession, member: Member) -> StoredData:
    """Count what is linked to the member."""
    async def count(model, column) -> int:
        return await session.scalar(select(func.count()).select_from(model).where(column == member.id)) or 0

    return StoredData(
        member,
        await count(Reading, Reading.member_id),
        await count(QuizAttempt, QuizAttempt.member_id),
        await count(Pledge, Pledge.confirmed_by_id),
        await count(Delivery, Delivery.member_id),
    )


async def forget_member(session: AsyncSession, member: Member) -> None:
    """Delete the member's personal data: the member row goes, and with it the link from their
    readings, quiz answers and pledges (those stay the household's, as the campaign counted them);
    messages waiting for them are cancelled, and every message row loses their chat id and text."""
    member_id = member.id
    mine = Delivery.member_id == member_id
    # Not sent yet: never to be sent (a message a worker is handing to the channel right now
    # may still go out; the worker then records it as sent).
    await session.execute(
        update(Delivery).where(mine, Delivery.status.in_(("pending", "sending")))
        .values(status="unreachable", last_error=FORGOTTEN, claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False))
    # The rows stay for the broadcasts' counts, without whom they went to or what they said;
    # the chat id becomes the row's own mark, since a source reaches each chat id once.
    await session.execute(
        update(Delivery).where(mine)
        .values(chat_id=literal("forgotten:") + cast(Delivery.id, String), text="")
        .execution_options(synchronize_session=False))
    # Their requests to join a household go; their decisions and pledge changes stay, unsigned.
    await session.execute(delete(JoinRequest).where(JoinRequest.member_id == member_id))
    for model, column in ((Reading, Reading.member_id), (QuizAttempt, QuizAttempt.member_id),
                          (Pledge, Pledge.confirmed_by_id), (PledgeEvent, PledgeEvent.member_id),
                          (JoinRequest, JoinRequest.decided_by_id)):
        await session.execute(
            model.__table__.update().where(column == member_id).values({column.key: None})
        )
    await session.execute(delete(Member).where(Member.id == member_id))
    session.expunge(member)
