"""Tips: sealed anonymous tips, their photos and history, and the officers' groups per area.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
KINDS = ("drugs", "gambling", "theft", "online_fraud", "child_abuse", "domestic_violence",
         "trafficking", "public_disorder", "other")
STATUSES = ("received", "checking", "handled", "closed")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    op.create_table(
        "tips",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("code_salt", sa.LargeBinary(16), nullable=False),
        sa.Column("reply_key", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(_one_of("kind", KINDS), name="kind"),
        sa.CheckConstraint(_one_of("status", STATUSES), name="status"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index("ix_tips_area_id", "tips", ["area_id"])

    op.create_table(
        "tip_photos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tip_id", sa.Integer(), sa.ForeignKey("tips.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_tip_photos_tip_id", "tip_photos", ["tip_id"])

    op.create_table(
        "tip_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tip_id", sa.Integer(), sa.ForeignKey("tips.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("sealed_for_officers", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_for_tipster", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(_one_of("kind", ("status", "reply", "addition")), name="kind"),
        sa.CheckConstraint(f"status IS NULL OR {_one_of('status', STATUSES)}", name="status"),
    )
    op.create_index("ix_tip_entries_tip_id", "tip_entries", ["tip_id"])

    op.create_table(
        "tip_routes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("channel IN ('telegram', 'zalo', 'console')", name="channel"),
        sa.UniqueConstraint("area_id", "channel"),
    )


def downgrade() -> None:
    for table in ("tip_routes", "tip_entries", "tip_photos", "tips"):
        op.drop_table(table)
