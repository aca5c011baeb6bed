"""Residents: hamlet join codes, household approval, consent, readings, quizzes and pledges.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
# The same alphabet as db/services/areas.py: no 0/O or 1/I/L to misread on a poster.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def upgrade() -> None:
    with op.batch_alter_table("areas") as batch:
        batch.add_column(sa.Column("join_code", sa.String(16), nullable=True))
        batch.create_unique_constraint(op.f("uq_areas_join_code"), ["join_code"])
    connection = op.get_bind()
    hamlets = connection.execute(sa.text("SELECT id FROM areas WHERE level = 'hamlet'")).scalars()
    for hamlet_id in list(hamlets):
        code = "".join(secrets.choice(ALPHABET) for _ in range(6))
        connection.execute(sa.text("UPDATE areas SET join_code = :code WHERE id = :id"),
                           {"code": code, "id": hamlet_id})

    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="active"))
        batch.create_check_constraint("status", "status IN ('active', 'pending', 'rejected')")

    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("consent_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("consent_version", sa.String(16), nullable=True))

    op.create_table(
        "readings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="SET NULL")),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id")),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id")),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("article_version", sa.String(16), nullable=False),
        sa.Column("read_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("member_id", "article_id", "article_version"),
    )
    op.create_index("ix_readings_household_id", "readings", ["household_id"])
    op.create_index("ix_readings_campaign_household", "readings", ["campaign_id", "household_id"])

    op.create_table(
        "quiz_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="SET NULL")),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id")),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id")),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("article_version", sa.String(16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("total", sa.SmallInteger(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("member_id", "article_id", "article_version"),
    )
    op.create_index("ix_quiz_attempts_campaign_household", "quiz_attempts",
                    ["campaign_id", "household_id"])

    op.create_table(
        "pledges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pledge_version", sa.String(32), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="SET NULL")),
        sa.Column("confirmed_by_role", sa.String(16), nullable=False),
        sa.Column("confirmed_at", TIMESTAMP, nullable=False),
        sa.Column("withdrawn_at", TIMESTAMP, nullable=True),
        sa.Column("withdraw_reason", sa.String(500), nullable=True),
        sa.CheckConstraint("status IN ('confirmed', 'withdrawn')", name="status"),
        sa.UniqueConstraint("household_id", "campaign_id"),
    )
    op.create_index("ix_pledges_campaign_status", "pledges", ["campaign_id", "status"])


def downgrade() -> None:
    for table in ("pledges", "quiz_attempts", "readings"):
        op.drop_table(table)
    with op.batch_alter_table("members") as batch:
        batch.drop_column("consent_version")
        batch.drop_column("consent_at")
    with op.batch_alter_table("households") as batch:
        batch.drop_constraint(op.f("ck_households_status"), type_="check")
        batch.drop_column("status")
    with op.batch_alter_table("areas") as batch:
        batch.drop_constraint(op.f("uq_areas_join_code"), type_="unique")
        batch.drop_column("join_code")
