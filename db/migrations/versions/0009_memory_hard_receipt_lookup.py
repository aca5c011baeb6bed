"""Receipt lookups become memory-hard: each tip's stored HMAC of its 12-digit code is stretched
with argon2id, so that recovering codes offline from the database and the secret costs
argon2id per guess instead of an HMAC (new tips get 16-digit codes, found by argon2id of the
code itself: db/services/tip_sealing.py). No column changes; the values do.

It needs no secret (the secret is inside the HMAC) and takes some 70 ms of one core per tip,
spread over the machine's cores. It cannot be undone: the HMACs are gone, which is the point;
a downgrade leaves receipt codes unable to find their tips with the older code.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from alembic import op
from nacl.pwhash import argon2id

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# Fixed here, as db/services/tip_sealing.py fixes them: lookups depend on them for ever.
LEGACY_SALT = b"binhyen:legacy12"


def _stretched(hmac_hex: str) -> str:
    return argon2id.kdf(32, hmac_hex.encode("ascii"), LEGACY_SALT, opslimit=argon2id.OPSLIMIT_INTERACTIVE,
                        memlimit=argon2id.MEMLIMIT_INTERACTIVE).hex()


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, code_hash FROM tips ORDER BY id")).all()
    if not rows:
        return
    log.warning("stretching the receipt lookups of %s tips (about 70 ms of one core each)", len(rows))
    with ThreadPoolExecutor(max_workers=max(1, min(8, (os.cpu_count() or 1)))) as pool:
        values = list(pool.map(_stretched, [code_hash for _id, code_hash in rows]))
    connection.execute(sa.text("UPDATE tips SET code_hash = :value WHERE id = :id"),
                       [{"id": tip_id, "value": value} for (tip_id, _old), value in zip(rows, values)])


def downgrade() -> None:
    """Nothing to undo in the schema; the stretched values stay (see the docstring)."""
