"""The bot-wide count of wrong receipt codes per minute (no sender, no code), for the hourly
ceiling that holds across restarts when there is no Redis.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wrong_code_minutes",
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("minute", name="pk_wrong_code_minutes"),
    )


def downgrade() -> None:
    op.drop_table("wrong_code_minutes")
