"""How long conversation state lives: one policy for every conversation, in memory as in Redis.

Every conversation's state and data (a tip draft, a join, a broadcast being written, a Zalo
chat's numbered options) are forgotten STATE_SECONDS after the conversation last wrote them,
whatever the conversation: their expiry says when someone last did something, not what. The
conversations keep their own, shorter, limits inside (a tip draft an hour from its start, a
status check's tip 15 minutes) and refuse to go on past them. A non-member's language choice
lives PREFS_SECONDS after it was made.
"""

from aiogram.fsm.storage.base import StorageKey

from base.preferences import PREFS_DESTINY

STATE_SECONDS = 3600
PREFS_SECONDS = 30 * 24 * 3600


def ttl_for(key: StorageKey) -> int:
    """Seconds the state and data under `key` live after their last write."""
    return PREFS_SECONDS if key.destiny == PREFS_DESTINY else STATE_SECONDS
