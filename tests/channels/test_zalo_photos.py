"""/stats on Zalo: the chart goes by URL, served from the webhook server for a short while at a
random path; without a webhook the numbers come with a plain word on where to find the chart."""

import pytest
from aiohttp import ClientSession, web

from bot.channels.photo_links import PHOTO_TTL, REDIS_PREFIX, PhotoLinks
from db.services.members import grant_role
from testkit.arrange import tree
from testkit.fake_zalo import listen_locally
from testkit.zalo_chat import PUBLIC_BASE, WEBHOOK_URL, settings, zalo, zalo_polling  # noqa: F401

OFFICER = "0b7d1e9a4c2f68e5d310"  # an officer of commune C1, on Zalo


@pytest.fixture
async def places(session):
    places = await tree(session)
    await grant_role(session, "zalo", OFFICER, "officer", "C1")
    await session.commit()
    return places


async def test_the_stats_chart_is_served_for_zalo_to_fetch_then_expires(zalo, zalo_api, places):
    numbers, caption = await zalo.send("/stats", user=OFFICER)
    assert "Xã Tân Hòa" in numbers and "Số hộ: 5" in numbers
    assert caption == "Xã Tân Hòa"
    [sent] = [params for method, params in zalo_api.calls if method == "sendPhoto"]
    url = sent["photo"]
    assert sent["chat_id"] == OFFICER and url.startswith(f"{WEBHOOK_URL}/photos/") and url.endswith(".png")
    assert zalo_api.photos[url].startswith(b"\x89PNG")  # Zalo fetched the chart itself
    links = zalo.channel.session.photo_links
    local = zalo_api.public_bases[PUBLIC_BASE] + url.removeprefix(PUBLIC_BASE)
    async with ClientSession() as client:
        guessed = local.rsplit("/", 1)[0] + "/not-the-random-name.png"
        assert (await client.get(guessed)).status == 404
        now = links.clock()
        links.clock = lambda: now + links.ttl + 1  # a quarter of an hour later
        assert (await client.get(local)).status == 404


async def test_without_a_webhook_the_numbers_come_with_where_to_find_the_chart(zalo_polling, zalo_api, places):
    numbers, hint = await zalo_polling.send("/stats", user=OFFICER)
    assert "Xã Tân Hòa" in numbers and "Số hộ: 5" in numbers
    assert hint == ("Biểu đồ không gửi được qua kênh này. Xem biểu đồ trong báo cáo "
                    "(binhyen report --area C1 --format png) hoặc trên Telegram.")
    assert "sendPhoto" not in zalo_api.methods()


async def test_with_redis_any_instance_serves_the_photo_another_published(redis):
    web_apps, links = [], []
    for _ in range(2):  # two instances behind one address
        photo_links = PhotoLinks(WEBHOOK_URL, redis)
        web_app = web.Application()
        photo_links.add_route(web_app, "/zalo/hook-7f3a")
        web_apps.append(web_app)
        links.append(photo_links)
    url = await links[0].publish(b"\x89PNG a chart")
    runner, port = await listen_locally(web_apps[1])
    try:
        async with ClientSession() as client:
            answer = await client.get(f"http://127.0.0.1:{port}" + url.removeprefix(PUBLIC_BASE))
            assert answer.status == 200 and await answer.read() == b"\x89PNG a chart"
            assert answer.content_type == "image/png"
    finally:
        await runner.cleanup()
    assert 0 < await redis.ttl(REDIS_PREFIX + url.rsplit("/", 1)[1]) <= PHOTO_TTL
