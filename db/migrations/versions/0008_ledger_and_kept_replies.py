"""The ledger keeps only what de-duplication needs, at hour precision; kept replies (a tip's
receipt until it is sent) move to their own table, UNLOGGED on PostgreSQL so that they never
reach the write-ahead log, its archives or a replica.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "kept_replies",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("update_id", sa.String(64), nullable=False),
        sa.Column("kept_at", TIMESTAMP, nullable=False),
        sa.Column("replies", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("source", "update_id", name="pk_kept_replies"),
        prefixes=["UNLOGGED"] if _postgres() else [],
    )
    op.execute(sa.text(
        "INSERT INTO kept_replies (source, update_id, kept_at, replies) "
        "SELECT source, update_id, processed_at, replies FROM processed_updates "
        "WHERE replies IS NOT NULL"))
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_column("replies")
    if _postgres():
        op.execute(sa.text("UPDATE processed_updates SET processed_at = date_trunc('hour', processed_at)"))
    else:  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'
        op.execute(sa.text(
            "UPDATE processed_updates SET processed_at = substr(processed_at, 1, 13) || ':00:00.000000'"))


def downgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.add_column(sa.Column("replies", sa.LargeBinary(), nullable=True))
    op.execute(sa.text(
        "UPDATE processed_updates SET replies = (SELECT replies FROM kept_replies WHERE "
        "kept_replies.source = processed_updates.source AND "
        "kept_replies.update_id = processed_updates.update_id)"))
    op.drop_table("kept_replies")
