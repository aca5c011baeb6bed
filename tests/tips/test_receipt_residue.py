"""What an erased receipt leaves on disk, read as an attacker holding the host's files and
BINHYEN_TIP_SECRET would: the database file, its WAL and shared memory on SQLite; the
write-ahead log and the table's file on PostgreSQL."""

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import bot.exactly_once.transaction as transaction
from db.models import KeptReply
from testkit.fakes import count
from tests.tips.test_tips import TIPSTER, file_tip, officers_key, tip_settings  # noqa: F401  (a fixture)
from tests.tips.test_tips import tree as tip_tree  # noqa: F401  (a fixture)


@pytest.fixture
def settings(database_url, officers_key):  # noqa: F811
    return tip_settings(database_url, officers_key)


@pytest.fixture
def kept(monkeypatch) -> list[bytes]:
    """Every sealed blob the bot keeps: what the attacker opens with the secret if found."""
    blobs: list[bytes] = []
    pack = transaction.pack

    def recording(methods, key):
        blobs.append(pack(methods, key))
        return blobs[-1]

    monkeypatch.setattr(transaction, "pack", recording)
    return blobs


def traces(data: bytes, blobs: list[bytes], code: str) -> list[str]:
    """What of the pair (the sealed receipt, or the code and the tipster's chat id) is in `data`."""
    found = [f"kept blob {number}" for number, blob in enumerate(blobs)
             if blob[8:40] in data or blob[-32:] in data]
    found += [name for name, value in (("code", code), ("grouped code", " ".join(
        code[i:i + 4] for i in range(0, len(code), 4))), ("chat id", str(TIPSTER))) if value.encode() in data]
    return found


async def wal_segments(session) -> str:
    return await session.scalar(text("SELECT pg_walfile_name(pg_current_wal_lsn())"))


async def test_an_erased_receipt_leaves_nothing_on_disk(app, chat, session, tip_tree, kept, backend):  # noqa: F811
    start_segment = await wal_segments(session) if backend == "postgres" else None
    await session.commit()
    code, sent = await file_tip(chat, tip_tree)
    assert code and any("Mã biên nhận" in s for s in sent) and kept
    assert await count(session, KeptReply) == 0
    if backend == "sqlite":
        database = Path(make_url(app.settings.database_url).database)
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            data = path.read_bytes() if path.exists() else b""
            assert not traces(data, kept, code), (path.name, traces(data, kept, code))
        # The WAL is emptied right after the erasure, not hundreds of updates later.
        assert not Path(f"{database}-wal").exists() or Path(f"{database}-wal").stat().st_size == 0
        return
    # PostgreSQL: the table never reaches the write-ahead log (nor its archives, nor replicas) ...
    assert await session.scalar(text(
        "SELECT relpersistence::text FROM pg_class WHERE relname = 'kept_replies'")) == "u"
    end_segment = await wal_segments(session)
    names = [name for name in await session.scalars(text("SELECT name FROM pg_ls_waldir() ORDER BY name"))
             if start_segment <= name <= end_segment]
    assert names
    for name in names:
        data = await session.scalar(text("SELECT pg_read_binary_file('pg_wal/' || :name)"), {"name": name})
        assert not traces(data, kept, code), (name, traces(data, kept, code))
    # ... and, emptied, it was truncated: its file is new and holds nothing.
    path = await session.scalar(text("SELECT pg_relation_filepath('kept_replies')"))
    data = await session.scalar(text("SELECT pg_read_binary_file(:path)"), {"path": path})
    assert data == b""
    await session.commit()
