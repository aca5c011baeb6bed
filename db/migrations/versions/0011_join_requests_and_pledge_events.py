"""Joining a household that has members waits for one of them (or the hamlet head) to confirm:
join_requests. Every confirmation and withdrawal of a pledge is kept with the member who made
it: pledge_events (existing pledges get theirs from what the pledge row says).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("note", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused')", name="status"),
    )
    op.create_index("ix_join_requests_household_id", "join_requests", ["household_id"])
    op.create_index("ix_join_requests_member_id", "join_requests", ["member_id"])
    op.create_table(
        "pledge_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pledge_id", sa.Integer(), sa.ForeignKey("pledges.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("kind IN ('confirmed', 'withdrawn')", name="kind"),
    )
    op.create_index("ix_pledge_events_pledge_id", "pledge_events", ["pledge_id"])
    # What the pledges say of their history: the confirmation (by whom), the last withdrawal
    # (by whom is not known: nobody was recorded before).
    op.execute(sa.text(
        "INSERT INTO pledge_events (pledge_id, kind, member_id, role, created_at) "
        "SELECT id, 'confirmed', confirmed_by_id, confirmed_by_role, confirmed_at FROM pledges"))
    op.execute(sa.text(
        "INSERT INTO pledge_events (pledge_id, kind, member_id, role, created_at) "
        "SELECT id, 'withdrawn', NULL, '', withdrawn_at FROM pledges WHERE withdrawn_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_table("pledge_events")
    op.drop_table("join_requests")
