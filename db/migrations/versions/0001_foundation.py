"""Foundation: areas, households, members, campaigns and the processed-update ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=True),
        sa.Column("path", sa.String(400), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.CheckConstraint("level IN ('province', 'district', 'commune', 'hamlet')", name="level"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_areas_parent_id", "areas", ["parent_id"])
    # varchar_pattern_ops lets PostgreSQL answer `path LIKE '/1/7/%'` from the index.
    op.create_index("ix_areas_path", "areas", ["path"],
                    postgresql_ops={"path": "varchar_pattern_ops"})

    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hamlet_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("head_name", sa.String(200), nullable=False),
        sa.Column("head_name_key", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("size", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("size >= 1 AND size <= 99", name="size"),
        sa.UniqueConstraint("hamlet_id", "code"),
    )
    op.create_index("ix_households_hamlet_id", "households", ["hamlet_id"])
    op.create_index("ix_households_head_name_key", "households", ["head_name_key"])

    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.Integer(),
                  sa.ForeignKey("households.id", ondelete="SET NULL"), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=True),
        sa.Column("locale", sa.String(8), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("role IN ('resident', 'hamlet_head', 'officer', 'admin')", name="role"),
        sa.CheckConstraint("channel IN ('telegram', 'zalo', 'console')", name="channel"),
        sa.UniqueConstraint("channel", "user_id"),
    )
    op.create_index("ix_members_household_id", "members", ["household_id"])
    op.create_index("ix_members_area_id", "members", ["area_id"])

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("pledge_version", sa.String(32), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("starts_on <= ends_on", name="period"),
        sa.UniqueConstraint("area_id", "year"),
    )
    op.create_index("ix_campaigns_area_id", "campaigns", ["area_id"])

    op.create_table(
        "processed_updates",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("update_id", sa.String(64), primary_key=True),
        sa.Column("processed_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])


def downgrade() -> None:
    for table in ("processed_updates", "campaigns", "members", "households", "areas"):
        op.drop_table(table)
