"""Anonymous tips: the sealed tip, its photos, its history, and the officers' group per area.

Nothing here names or points to the tipster: no chat or user id, phone, name, household or
member. What the tipster wrote is sealed to the officers' public key; officers' replies are
sealed to a key only the receipt code can re-derive.
"""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow
from db.models.utc import UTCDateTime

# Stable codes; the chat shows them through gettext (base/tip_labels.py).
TIP_KINDS = (
    "drugs", "gambling", "theft", "online_fraud", "child_abuse", "domestic_violence",
    "trafficking", "public_disorder", "other",
)
TIP_STATUSES = ("received", "checking", "handled", "closed")
TIP_ENTRY_KINDS = ("status", "reply", "addition")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Tip(Base):
    """One tip. `sealed` holds the tipster's words (text, when, place, location) for officers."""

    __tablename__ = "tips"
    __table_args__ = (
        CheckConstraint(_one_of("kind", TIP_KINDS), name="kind"),
        CheckConstraint(_one_of("status", TIP_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Where it happened, as picked from the area tree: it routes the tip and scopes who sees it.
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default="received")
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # What the receipt code derives with argon2id under a salt of the server's secret (for a
    # 12-digit code of before 0009: its HMAC under the secret, stretched with argon2id): finds
    # the tip, and costs a guess some 70 ms and 64 MiB (db/services/tip_sealing.py).
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Salt and public half of the key pair derived from the receipt code: replies are sealed
    # to it, so only someone holding the code can read them.
    code_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    reply_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Rounded down to the hour, so the time cannot be matched against other records.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[Area] = relationship(lazy="joined", innerjoin=True)

    def year_in(self, tz: ZoneInfo) -> int:
        """The year the tip came in, on the deployment's local calendar."""
        created = self.created_at
        if created.tzinfo is None:  # SQLite gives the stored UTC time back without its zone
            created = created.replace(tzinfo=timezone.utc)
        return created.astimezone(tz).year

    def reference_in(self, tz: ZoneInfo) -> str:
        """What officers call the tip, e.g. T-2026-000123 (never the receipt code); a tip sent
        just after local midnight on 1 January has the new year."""
        return f"T-{self.year_in(tz)}-{self.id:06d}"


class TipPhoto(Base):
    """A photo of a tip, re-encoded without metadata and sealed to the officers' key."""

    __tablename__ = "tip_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class TipEntry(Base):
    """The history of a tip: status changes and replies by officers, additions by the tipster.

    Officers are not anonymous: their member id is kept. A reply or addition is sealed twice,
    to the officers' key and to the tip's receipt-code key, so both sides can read it later.
    """

    __tablename__ = "tip_entries"
    __table_args__ = (
        CheckConstraint(_one_of("kind", TIP_ENTRY_KINDS), name="kind"),
        CheckConstraint(f"status IS NULL OR {_one_of('status', TIP_STATUSES)}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    sealed_for_officers: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_for_tipster: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The tipster's additions are rounded down to the hour like the tip itself.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TipRoute(Base):
    """The officers' group chat that receives copies of new tips of an area, per channel."""

    __tablename__ = "tip_routes"
    __table_args__ = (
        UniqueConstraint("area_id", "channel"),
        CheckConstraint("channel IN ('telegram', 'zalo', 'console')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[Area] = relationship(lazy="joined", innerjoin=True)


class WrongCodeMinute(Base):
    """How many wrong receipt codes the whole bot was given in a minute (no sender, no code):
    the bot-wide ceiling's count, kept in the database when there is no Redis, so that a
    restart does not reset it; rows older than the hour-long window are deleted
    (db/services/tip_limits.py)."""

    __tablename__ = "wrong_code_minutes"

    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
