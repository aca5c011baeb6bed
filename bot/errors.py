"""What the user hears when handling their update failed: an apology, never a traceback."""

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

from bot.exactly_once.event_isolation import LockWaitTimeout
from bot.exactly_once.transaction import Redeliver

log = logging.getLogger(__name__)


def apology() -> str:
    """The "please try again" answer to an update that failed, in the current language."""
    return _("Xin lỗi, Bình Yên đang gặp sự cố nên chưa làm được việc này. "
             "Bạn vui lòng thử lại sau ít phút.")


async def apologise(event: ErrorEvent, bot: Bot) -> bool:
    """Log the failure (type and place only) and ask the user to try again."""
    log.error(
        "update %s failed with %s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    text = apology()
    update = event.update
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None:
            await bot.send_message(update.message.chat.id, text)
    except Exception as error:  # the channel may be down too; the log above is what matters
        log.warning("could not send the apology: %s", type(error).__name__)
    return True


def errors_router() -> Router:
    """Handles every failure except one that asks for the update again (another instance is
    handling it, a kept reply still waits, or it waited too long for the user's previous
    update): that one must propagate so the webhook answers with an error status and Telegram
    or Zalo redelivers it."""
    router = Router(name="errors")
    router.errors.register(
        apologise, lambda event: not isinstance(event.exception, (Redeliver, LockWaitTimeout)))
    return router
