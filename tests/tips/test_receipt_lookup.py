"""Receipt codes against an attacker who holds the database and BINHYEN_TIP_SECRET: every guess
costs a memory-hard derivation, new codes have 16 digits, and the tips of the old 12-digit
codes are still found (their HMACs stretched by migration 0009)."""

import hashlib
import hmac
import time

import pytest
from nacl.public import PrivateKey, PublicKey
from sqlalchemy import select, text

from bot.app import build_app
from db.migrate import upgrade
from db.models import Tip
from db.services.tip_sealing import TipKeys, code_key, code_lookup, grouped, seal
from db.session import make_engine
from testkit.fakes import ChatDriver
from tests.tips.test_tips import SECRET, TIPSTER, file_tip, officers_key, tip_settings  # noqa: F401
from tests.tips.test_tips import tree as tip_tree  # noqa: F401  (a fixture)


@pytest.fixture
def settings(database_url, officers_key):  # noqa: F811
    return tip_settings(database_url, officers_key)


async def test_a_stored_lookup_costs_a_guess_argon2id_not_an_hmac(chat, session, tip_tree):  # noqa: F811
    """What one pass over the code space needs per guess: the HMAC under the secret (some
    10 M a second on one core) is no longer enough; the code has 16 digits (10¹⁶ guesses)."""
    code, sent = await file_tip(chat, tip_tree)
    assert len(code) == 16 and grouped(code) in "\n".join(sent)
    await session.rollback()
    stored = (await session.scalars(select(Tip.code_hash))).one()
    keys = TipKeys(PublicKey(bytes(32)), SECRET.encode())
    assert stored != hmac.new(SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
    assert stored != hashlib.sha256(code.encode()).hexdigest()
    started = time.process_time()
    assert code_lookup(keys, code).value == stored  # what a guess must compute: argon2id
    assert time.process_time() - started > 0.01  # tens of milliseconds of CPU, not microseconds
    [status] = await chat.send(f"/tipstatus {grouped(code)}", user_id=TIPSTER)
    assert "Đã tiếp nhận" in status
    [refused] = await chat.send(f"/tipstatus {code[:12]}", user_id=TIPSTER)
    assert "Không có tin báo nào với mã này" in refused


async def test_a_tip_of_an_old_twelve_digit_code_is_found_after_migrating(
        empty_database_url, officers_key, tip_tree_at_0008):  # noqa: F811
    """A tip stored before 0009 (an HMAC of its 12-digit code, its reply sealed to the key its
    code derives with the tip's salt) is found by that code after the upgrade, and its tipster
    reads the reply; the HMAC an offline attack would test guesses against is gone."""
    engine, code, old_hash = tip_tree_at_0008
    await upgrade(engine)
    async with engine.connect() as connection:
        stored = await connection.scalar(text("SELECT code_hash FROM tips"))
    assert stored != old_hash
    app = await build_app(tip_settings(empty_database_url, officers_key), engine)
    try:
        chat = ChatDriver(app)
        [status] = await chat.send(f"/tipstatus {code[:4]} {code[4:8]} {code[8:]}", user_id=TIPSTER)
        assert "Đã tiếp nhận" in status and "Trả lời cũ Kq9" in status
    finally:
        await app.dispatcher.storage.close()


@pytest.fixture
async def tip_tree_at_0008(empty_database_url, officers_key):  # noqa: F811
    """A database at revision 0008 holding one tip as 0004–0008 stored it, with a reply."""
    engine = make_engine(empty_database_url)
    await upgrade(engine, "0008")
    code, salt = "482109375512", b"s" * 16
    old_hash = hmac.new(SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
    reply_key = code_key(code, salt).public_key
    officers: PrivateKey = officers_key[0]
    async with engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO areas (id, code, name, level, path, depth) VALUES (1, 'P', 'Tỉnh Thử', 'province', '/1/', 0)"))
        await connection.execute(text(
            "INSERT INTO tips (id, area_id, kind, status, sealed, code_hash, code_salt, reply_key, created_at) "
            "VALUES (1, 1, 'drugs', 'received', :sealed, :hash, :salt, :key, CURRENT_TIMESTAMP)"),
            {"sealed": seal(officers.public_key, b"{}"), "hash": old_hash, "salt": salt, "key": bytes(reply_key)})
        await connection.execute(text(
            "INSERT INTO tip_entries (tip_id, kind, sealed_for_tipster, created_at) "
            "VALUES (1, 'reply', :sealed, CURRENT_TIMESTAMP)"), {"sealed": seal(reply_key, "Trả lời cũ Kq9".encode())})
    yield engine, code, old_hash
    await engine.dispose()
