"""Loads the member behind each update (None for people who never registered)."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Update

from db.services.deliveries import mark_reachable
from db.services.members import get_member


class MemberMiddleware(BaseMiddleware):
    """Puts `member` (or None), `channel` and `channel_user_id` into the handler data."""

    async def __call__(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        update: Update,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if user is None:
            # Nobody sent it (Telegram leaves the sender out only in channels, where this bot
            # does nothing): no handler can answer or attribute it.
            return None
        data.setdefault("channel", "telegram")
        member = None
        if "session" in data:
            # Channels whose user ids are not numbers pass their own id along with the update.
            data.setdefault("channel_user_id", str(user.id))
            member = await get_member(data["session"], data["channel"], data["channel_user_id"])
            if member is not None and member.unreachable_at is not None:
                # They write to us, so they no longer block the bot: messages may reach them.
                await mark_reachable(data["session"], member)
        data["member"] = member
        # Plain values survive a rollback, for the error handler to answer in the right language.
        data["member_id"] = member.id if member else None
        data["member_locale"] = member.locale if member else None
        return await handler(update, data)
