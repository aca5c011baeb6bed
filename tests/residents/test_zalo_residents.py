"""Every resident flow on Zalo, through the real transport against the fake Zalo Bot API: /join CODE,
consent and the household by typed numbers, a long article in parts, "Đã đọc", a quiz, the pledge,
/privacy and /forget. The database is checked as well as the texts."""

import pytest
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy import select

from base.plain_text import plain_text
from bot.channels.zalo import aiogram_id
from content.catalog import Catalog
from db.models import Member, Pledge, QuizAttempt, Reading
from delivery.zalo_api import MAX_TEXT, text_size
from handlers.outreach.quiz import LETTERS
from testkit.arrange import tree
from testkit.fakes import count, fetch
from testkit.zalo_chat import LAN, MENU_HINT, options, settings, zalo, zalo_each_way  # noqa: F401

ARTICLE = "lua-dao-cong-nghe-cao"  # the longest shipped article: 4,700 characters of text


@pytest.fixture
async def places(session):
    return await tree(session)


async def stored_member(session) -> Member | None:
    return await fetch(session, select(Member).where(Member.channel == "zalo", Member.user_id == LAN))


async def join(zalo, places) -> None:
    """LAN joins household H003 (Lê Hoàng Đức) of hamlet H11, typing numbers and the name."""
    await zalo.send(f"/join {places.h11.join_code}")
    await zalo.choose("✅ Đồng ý")
    await zalo.send("le hoang duc")
    await zalo.choose("Lê Hoàng Đức")


async def test_joining_by_typed_code_consent_and_the_household_typed_without_diacritics(
        zalo_each_way, session, places):
    zalo = zalo_each_way
    [notice] = await zalo.send(f"/join {places.h11.join_code}")
    assert "Bình Yên sẽ lưu" in notice and "<b>" not in notice
    assert options(notice) == {"✅ Đồng ý": 1, "Không đồng ý": 2}
    assert await count(session, Member) == 0  # nothing stored before consent
    thanks, ask = await zalo.send("1")
    assert "Cảm ơn bạn đã đồng ý" in thanks and "Bạn đang tham gia Ấp Bình Long" in ask
    member = await stored_member(session)
    assert member.consent_version == "2026.1" and member.household_id is None
    [found] = await zalo.send("le hoang duc")
    assert "Chọn hộ của bạn" in found and "1. Lê Hoàng Đức — H003" in found and "Số 3" not in found
    [joined] = await zalo.send("1")
    assert "✅ Bạn đã vào hộ Lê Hoàng Đức (H003), Ấp Bình Long." in joined
    member = await stored_member(session)
    assert member.household_id == places.households["H11"][2].id and member.role == "resident"
    # The member is the Zalo user id itself, never the number aiogram knew them by.
    assert await count(session, Member) == 1
    assert await count(session, Member, Member.user_id == str(aiogram_id(LAN))) == 0


async def test_a_command_typed_with_capitals_works_on_zalo(zalo, places):
    [notice] = await zalo.send(f"/Join {places.h11.join_code}")
    assert "Bình Yên sẽ lưu" in notice
    [reply] = await zalo.send("/HELP")
    assert "Những việc bạn làm được" in reply


async def test_a_wrong_code_or_a_refusal_stores_nothing(zalo, session, places):
    [reply] = await zalo.send("/join XXXXXX")
    assert "Mã tham gia không đúng" in reply
    await zalo.send(f"/join {places.h11.join_code.lower()}")
    [reply] = await zalo.choose("Không đồng ý")
    assert "Bình Yên không lưu gì về bạn" in reply
    assert await count(session, Member) == 0


async def test_a_long_article_arrives_whole_in_parts_then_reading_and_a_quiz_count(
        zalo, zalo_api, session, places):
    await join(zalo, places)
    [topics] = await zalo.send("/learn")
    assert "3. Lừa đảo qua mạng, điện thoại" in topics
    before = len(zalo_api.texts)
    parts = await zalo.choose("Lừa đảo qua mạng, điện thoại")
    article = Catalog.load().article(ARTICLE, "vi")
    assert len(parts) >= 4  # two Telegram pieces of up to 3,900 characters, cut again for Zalo
    assert all(1 <= text_size(sent["text"]) <= MAX_TEXT for sent in zalo_api.texts[before:])
    # Nothing lost, nothing twice, in order: the article's words, its sources, then the options under it.
    words = " ".join(parts).split()
    expected = plain_text(f"<b>{hd.quote(article.title)}</b>\n\n{article.html}", "HTML").split()
    assert words[:len(expected)] == expected
    sources, hint, _options = " ".join(words[len(expected):]).partition(MENU_HINT)
    assert sources.startswith("Nguồn • " + article.sources[0].title) and hint
    positions = [sources.find(source.title) for source in article.sources]
    assert -1 not in positions and positions == sorted(positions)
    assert [MENU_HINT in part for part in parts] == [False] * (len(parts) - 1) + [True]

    [read] = await zalo.choose("✅ Đã đọc")
    assert "✅ Đã ghi nhận: hộ Lê Hoàng Đức đã được tuyên truyền bài này." in read
    member = await stored_member(session)
    reading = await fetch(session, select(Reading))
    assert (reading.member_id, reading.household_id, reading.campaign_id, reading.article_id) == (
        member.id, places.households["H11"][2].id, places.campaign.id, ARTICLE)

    [question] = await zalo.choose("📝 Trả lời 4 câu hỏi")
    assert question.startswith("Câu 1/4.") and "A. " in question
    assert list(options(question)) == ["A", "B", "C"]
    right = [q.answer for q in article.quiz]
    verdict, question = await zalo.send(str(right[0] + 1))  # by number
    assert "Đúng rồi" in verdict and question.startswith("Câu 2/4.")
    verdict, question = await zalo.send(LETTERS[right[1]].lower())  # or by the letter the text shows
    assert "Đúng rồi" in verdict and question.startswith("Câu 3/4.")
    wrong = (right[2] + 1) % 3
    verdict, question = await zalo.send(str(wrong + 1))
    assert "Chưa đúng. Đáp án đúng:" in verdict and question.startswith("Câu 4/4.")
    verdict, result = await zalo.send(str(right[3] + 1))
    assert "Kết quả: đúng 3/4 câu" in result and "được ghi nhận" in result
    attempt = await fetch(session, select(QuizAttempt))
    assert (attempt.answers, attempt.score, attempt.total) == ([right[0], right[1], wrong, right[3]], 3, 4)
    assert attempt.member_id == member.id and attempt.household_id == member.household_id
    assert attempt.finished_at is not None


async def test_the_pledge_is_confirmed_by_typing_its_number(zalo, session, places):
    await join(zalo, places)
    [shown] = await zalo.send("/pledge")
    # The pledge's own numbered commitments stay apart from the one option below them.
    assert "1. Chấp hành nghiêm" in shown and "Hộ Lê Hoàng Đức chưa xác nhận cam kết" in shown
    assert options(shown) == {"✅ Hộ tôi xác nhận cam kết": 1}
    [thanks] = await zalo.send("1")
    assert "✅ Cảm ơn bạn! Hộ Lê Hoàng Đức đã xác nhận cam kết" in thanks
    member = await stored_member(session)
    pledge = await fetch(session, select(Pledge))
    assert (pledge.household_id, pledge.campaign_id, pledge.status, pledge.confirmed_by_id,
            pledge.confirmed_by_role) == (member.household_id, places.campaign.id, "confirmed",
                                          member.id, "resident")
    [shown] = await zalo.send("/pledge")
    assert "đã xác nhận cam kết ngày" in shown and options(shown) == {"Rút cam kết": 1}


async def test_privacy_shows_the_zalo_account_and_forget_deletes_it(zalo, session, places):
    await join(zalo, places)
    await zalo.send("/pledge")
    await zalo.choose("✅ Hộ tôi xác nhận cam kết")
    [privacy] = await zalo.send("/privacy")
    for fragment in (f"Tài khoản: zalo {LAN}", "Người dân", "Hộ: Lê Hoàng Đức (H003), Ấp Bình Long",
                     "bản 2026.1", "xác nhận cam kết 1 lần"):
        assert fragment in privacy
    [warning] = await zalo.send("/forget")
    assert "vẫn được tính cho hộ" in warning
    [kept] = await zalo.choose("Không xóa")
    assert "Đã giữ nguyên" in kept and await count(session, Member) == 1
    await zalo.send("/forget")
    [gone] = await zalo.choose("Xóa dữ liệu của tôi")
    assert "Đã xóa dữ liệu cá nhân của bạn" in gone
    assert await count(session, Member) == 0
    pledge = await fetch(session, select(Pledge))
    assert (pledge.status, pledge.confirmed_by_id, pledge.household_id) == (
        "confirmed", None, places.households["H11"][2].id)
    [privacy] = await zalo.send("/privacy")
    assert "Bình Yên không lưu gì về bạn" in privacy


async def test_id_tells_a_zalo_user_their_id_for_role_grants(zalo):
    [reply] = await zalo.send("/id")
    assert f"Mã của bạn trên kênh zalo: {LAN}" in reply
