"""Updates of a kind this version of aiogram does not know: skipped, their content never logged."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError

log = logging.getLogger(__name__)


class UnknownUpdateMiddleware(BaseMiddleware):
    """Skips an update with no event aiogram knows (a newer Bot API, or a forged one).

    aiogram itself would warn with the whole update as JSON, which may carry what someone
    wrote (and fails on text that cannot be encoded); here only its id is logged."""

    async def __call__(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        update: Update,
        data: dict[str, Any],
    ) -> Any:
        try:
            update.event_type
        except UpdateTypeLookupError:
            log.info("update %s is of a kind this bot does not handle", update.update_id)
            return None
        return await handler(update, data)
