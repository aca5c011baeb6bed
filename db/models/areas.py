"""Administrative areas: one tree of any depth (province → district → commune → hamlet)."""

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

# Rank of each level: a child's level must rank below its parent's.
LEVELS = {"province": 1, "district": 2, "commune": 3, "hamlet": 4}


class Area(Base):
    """A province, district, commune/ward or hamlet; `path` lists the ids from the root."""

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(
            "level IN ('province', 'district', 'commune', 'hamlet')", name="level"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    # "/1/7/42/": the ids from the root down to this area, so a subtree is one prefix match.
    path: Mapped[str] = mapped_column(String(400), index=True, default="")
    depth: Mapped[int] = mapped_column(default=0)
    # Hamlets only: the code residents type or scan (QR, deep link j_<code>) to join.
    join_code: Mapped[str | None] = mapped_column(String(16), unique=True)

    def contains(self, other: "Area") -> bool:
        """True when `other` is this area or lies below it in the tree."""
        return other.path.startswith(self.path)
