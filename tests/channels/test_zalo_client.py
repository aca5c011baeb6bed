"""The Zalo Bot API client against the fake server: polls, long texts, typed errors, a hidden token."""

import logging
import traceback

import pytest
from pydantic import SecretStr

from delivery.zalo_api import (
    MAX_TEXT,
    ZaloBadRequest,
    ZaloClient,
    ZaloError,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloServerError,
    ZaloUnauthorized,
    split_text,
    text_size,
)
from testkit.fake_zalo import BOT_ID, ZALO_TOKEN, text_event

LAN = "e4ea2cd5189df1c3a88c"
ACCESS_TOKEN = ZALO_TOKEN.partition(":")[2]
WRONG_TOKEN = SecretStr("3001234567890123456:WrongAccessToken-000000")



@pytest.fixture
async def client(zalo_api):
    client = ZaloClient(SecretStr(ZALO_TOKEN), zalo_api.base)
    yield client
    await client.close()


async def test_get_me_and_one_update_per_poll_and_a_408_when_none(client, zalo_api):
    me = await client.get_me()
    assert me["id"] == BOT_ID and client.bot_id == BOT_ID
    first, second = text_event("/start"), text_event("/help")
    zalo_api.push(first)
    zalo_api.push(second)
    assert await client.get_updates(timeout=0) == [first]
    assert await client.get_updates(timeout=0) == [second]
    assert await client.get_updates(timeout=0) == []  # HTTP 408 "Request timeout"
    assert zalo_api.timeouts == 1


async def test_set_and_delete_the_webhook_with_its_secret(client, zalo_api):
    secret = SecretStr("zalo-webhook_secret-42")
    await client.set_webhook("https://bot.example.vn/zalo/hook", secret)
    assert zalo_api.webhook == {"url": "https://bot.example.vn/zalo/hook", "secret_token": "zalo-webhook_secret-42"}
    assert (await client.get_webhook_info())["url"] == "https://bot.example.vn/zalo/hook"
    await client.delete_webhook()
    assert (await client.get_webhook_info())["url"] == ""
    with pytest.raises(ZaloBadRequest):  # Zalo wants 8-256 characters
        await client.set_webhook("https://bot.example.vn/zalo/hook", SecretStr("short"))


def test_a_long_text_is_split_on_paragraphs_then_lines_then_words():
    paragraphs = [f"Đoạn {n}: " + "an ninh trật tự " * 55 for n in range(3)]  # ~890 characters each
    text = "\n\n".join(paragraphs)
    assert split_text(text) == [paragraphs[0] + "\n\n" + paragraphs[1], paragraphs[2]]
    lines = [f"{n:03} " + "x" * 96 for n in range(30)]  # one paragraph of 3,000 characters
    parts = split_text("\n".join(lines))
    assert [part.split("\n") for part in parts] == [lines[:19], lines[19:]]
    words = " ".join(f"tổ{n}" for n in range(1500))  # one line, no newline
    parts = split_text(words)
    assert len(parts) > 1 and all(text_size(part) <= MAX_TEXT for part in parts)
    assert " ".join(parts).split(" ") == words.split(" ")  # no word was cut
    assert [len(part) for part in split_text("y" * 4500)] == [2000, 2000, 500]
    assert [len(part) for part in split_text("😀" * 1500)] == [1000, 500]  # UTF-16 units
    assert split_text("ngắn") == ["ngắn"] and split_text("\n\n") == []


async def test_an_oversized_text_is_sent_in_parts_the_api_accepts(client, zalo_api):
    paragraphs = [f"Đoạn {n}. " + "Phòng chống tội phạm. " * 40 for n in range(4)]
    text = "\n\n".join(paragraphs)
    assert text_size(text) > MAX_TEXT
    with pytest.raises(ZaloBadRequest):  # the API refuses it whole
        await client.send_message(LAN, text)
    ids = await client.send_text(LAN, text)
    assert len(ids) == 2 and len(set(ids)) == 2
    assert [sent["text"] for sent in zalo_api.texts] == [
        "\n\n".join(paragraphs[:2]), "\n\n".join(paragraphs[2:])
    ]


async def test_a_failed_send_raises_the_typed_exception(client, zalo_api):
    # The docs' table: 403 is an internal server error (to retry), not a blocked user.
    zalo_api.fail(LAN, 403, "Internal server error")
    with pytest.raises(ZaloServerError) as internal:
        await client.send_text(LAN, "Xin chào")
    assert internal.value.code == 403
    zalo_api.fail(LAN, 404, "Not found")
    with pytest.raises(ZaloBadRequest):
        await client.send_text(LAN, "Xin chào")
    zalo_api.fail(LAN, 429, "Too Many Requests", retry_after=7)
    with pytest.raises(ZaloRateLimited) as limited:
        await client.send_text(LAN, "Xin chào")
    assert limited.value.retry_after == 7
    zalo_api.fail(LAN, 429, "Too Many Requests")
    with pytest.raises(ZaloRateLimited) as unsaid:
        await client.send_text(LAN, "Xin chào")
    assert unsaid.value.retry_after is None
    zalo_api.fail(LAN, 500, "Internal Server Error")
    with pytest.raises(ZaloServerError) as failed:
        await client.send_photo(LAN, "https://example.vn/a.jpg", "Ảnh")
    assert failed.value.code == 500
    zalo_api.fail(LAN, 418, "Something new")
    with pytest.raises(ZaloError) as unknown:
        await client.send_text(LAN, "Xin chào")
    assert type(unknown.value) is ZaloError and unknown.value.code == 418
    assert zalo_api.texts == []
    zalo_api.heal(LAN)
    assert len(await client.send_text(LAN, "Xin chào")) == 1


async def test_the_token_never_appears_in_errors_reprs_or_logs(zalo_api, caplog):
    caplog.set_level(logging.DEBUG)
    unreachable = ZaloClient(SecretStr(ZALO_TOKEN), "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ZaloNetworkError) as network:
        await unreachable.get_me()
    await unreachable.close()
    wrong = ZaloClient(WRONG_TOKEN, zalo_api.base)
    with pytest.raises(ZaloUnauthorized) as unauthorized:
        await wrong.get_me()
    await wrong.close()
    echoing = ZaloClient(SecretStr(ZALO_TOKEN), zalo_api.base)
    zalo_api.fail(LAN, 400, f"Bad Request: echoing {ZALO_TOKEN}")
    with pytest.raises(ZaloBadRequest) as echoed:
        await echoing.send_text(LAN, "Xin chào")
    errors = [network.value, unauthorized.value, echoed.value]
    shown = [str(error) for error in errors] + [repr(error) for error in errors]
    shown += ["".join(traceback.format_exception(error)) for error in errors]
    shown += [repr(echoing), caplog.text]
    await echoing.close()
    for text in shown:
        assert ACCESS_TOKEN not in text
    assert "<token>" in str(echoed.value)
