"""Delivery: campaign milestones and reminders, broadcasts, deliveries, the scheduler's job store,
and members marked unreachable.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
AUDIENCE = "audience IN ('all', 'unpledged', 'unreached', 'heads')"


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("unreachable_at", TIMESTAMP, nullable=True))

    # APScheduler's SQLAlchemyJobStore table, exactly as the store defines it (it then creates
    # nothing itself).
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])

    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("happens_on", sa.Date(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "kind IN ('registration_deadline', 'festival_day', 'six_month_review', "
            "'year_end_review', 'custom')", name="kind"),
    )
    op.create_index("ix_milestones_campaign_id", "milestones", ["campaign_id"])

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("milestone_id", sa.Integer(), sa.ForeignKey("milestones.id"), nullable=False),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("days_before", sa.SmallInteger(), nullable=False),
        sa.Column("at_time", sa.String(5), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("text", sa.String(3000), nullable=True),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fired_at", TIMESTAMP, nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(),
                  sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(AUDIENCE, name="audience"),
        sa.CheckConstraint("status IN ('planned', 'sent', 'missed')", name="status"),
        sa.CheckConstraint("days_before >= 0 AND days_before <= 366", name="days_before"),
    )
    op.create_index("ix_reminders_milestone_id", "reminders", ["milestone_id"])
    op.create_index("ix_reminders_due_at", "reminders", ["due_at"])

    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sender_id", sa.Integer(),
                  sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("text", sa.String(3000), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("send_at", TIMESTAMP, nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(),
                  sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.CheckConstraint(AUDIENCE, name="audience"),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sending', 'done', 'cancelled', 'missed')", name="status"),
    )
    op.create_index("ix_broadcasts_area_id", "broadcasts", ["area_id"])
    op.create_index("ix_broadcasts_sender_id", "broadcasts", ["sender_id"])
    op.create_index("ix_broadcasts_status_send_at", "broadcasts", ["status", "send_at"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), sa.ForeignKey("broadcasts.id"), nullable=True),
        sa.Column("reminder_id", sa.Integer(), sa.ForeignKey("reminders.id"), nullable=True),
        sa.Column("member_id", sa.Integer(),
                  sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'unreachable')", name="status"),
        sa.UniqueConstraint("source", "channel", "chat_id"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "channel", "next_attempt_at"])
    op.create_index("ix_deliveries_broadcast_status", "deliveries", ["broadcast_id", "status"])
    op.create_index("ix_deliveries_member_id", "deliveries", ["member_id"])
    op.create_index("ix_deliveries_reminder_id", "deliveries", ["reminder_id"])


def downgrade() -> None:
    for table in ("deliveries", "broadcasts", "reminders", "milestones", "apscheduler_jobs"):
        op.drop_table(table)
    with op.batch_alter_table("members") as batch:
        batch.drop_column("unreachable_at")
