"""aiogram's line for each update, without how long it took.

aiogram logs every update at INFO as "Update id=… is handled. Duration 37 ms by bot id=…". The
duration singles out the update that stored a tip (sealing, the officers' copy, the receipt
take longer than a /help); with the time of the line it points at the tipster's update. The
line keeps the update id and the outcome; the duration goes.
"""

import logging

_WITH_DURATION = "Update id=%s is %s. Duration %d ms by bot id=%d"
_WITHOUT = "Update id=%s is %s by bot id=%d"


class WithoutDuration(logging.Filter):
    """Rewrites aiogram's per-update line without its duration; other records pass as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the duration from the record (it is still logged)."""
        if record.msg == _WITH_DURATION and isinstance(record.args, tuple) and len(record.args) == 4:
            update_id, outcome, _duration, bot_id = record.args
            record.msg, record.args = _WITHOUT, (update_id, outcome, bot_id)
        return True


def install() -> None:
    """Put the filter on aiogram's event logger (once)."""
    logger = logging.getLogger("aiogram.event")
    if not any(isinstance(existing, WithoutDuration) for existing in logger.filters):
        logger.addFilter(WithoutDuration())
