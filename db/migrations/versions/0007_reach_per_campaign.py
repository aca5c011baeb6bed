"""Reach per campaign: a reading or quiz attempt is unique per article version, household and
campaign (not once for ever), so a household counts again next year and after joining; and
campaigns made with the old default pledge version "1" take the text that exists.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KEY = ["member_id", "article_id", "article_version"]
NEW_KEY = [*OLD_KEY, "campaign_id", "household_id"]
# The pledge version `binhyen campaign milestone add` gave new campaigns before 0007: no such
# text ever existed, so those campaigns could not pledge. 2026.1 was the only text then.
OLD_DEFAULT_PLEDGE = "1"
FIRST_PLEDGE = "2026.1"


def upgrade() -> None:
    for table in ("readings", "quiz_attempts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_member_id_article_id_article_version", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_per_campaign", NEW_KEY)
    op.execute(sa.text("UPDATE campaigns SET pledge_version = :new WHERE pledge_version = :old")
               .bindparams(new=FIRST_PLEDGE, old=OLD_DEFAULT_PLEDGE))


def downgrade() -> None:
    for table in ("readings", "quiz_attempts"):
        # The old key allows one row per member and article version: keep the first of each.
        op.execute(sa.text(
            f"DELETE FROM {table} WHERE member_id IS NOT NULL AND id NOT IN ("
            f"SELECT MIN(id) FROM {table} WHERE member_id IS NOT NULL "
            f"GROUP BY member_id, article_id, article_version)"))
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_per_campaign", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_member_id_article_id_article_version", OLD_KEY)
