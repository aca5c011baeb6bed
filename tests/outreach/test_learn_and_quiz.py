"""Outreach: the catalog is valid, articles are read in pieces, reach and quizzes are counted once."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from content.catalog import Catalog, default_root
from content.check import check_catalog
from db.models import QuizAttempt, Reading
from db.services.joining import give_consent, join_household
from testkit.arrange import tree
from testkit.fakes import count, fetch


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# What every article's front matter must carry besides its text (content/sources.py).
TRACE = """reviewed: 2026-01-15
sources:
  - title: "Bộ luật Hình sự 2015"
    number: "100/2015/QH13"
    articles: [174]
"""


def article(article_id: str, language: str, body: str, quiz: str = "", version: int = 1,
            trace: str = TRACE) -> str:
    return (f"---\nid: {article_id}\ntopic: fraud\ntitle: \"Bài {article_id} ({language})\"\n"
            f"language: {language}\nversion: {version}\nsummary: \"Tóm tắt\"\n{trace}{quiz}---\n{body}\n")


QUIZ = """quiz:
  - question: "Câu một?"
    options: ["Sai", "Đúng", "Sai nữa"]
    answer: 2
    explain: "Vì đúng là đúng."
  - question: "Câu hai?"
    options: ["Đúng", "Sai"]
    answer: 1
    explain: "Lý do hai."
  - question: "Câu ba?"
    options: ["Sai", "Đúng"]
    answer: 2
    explain: "Lý do ba."
"""


@pytest.fixture
def small_catalog(tmp_path) -> Path:
    long_body = "\n\n".join(f"Đoạn {n}: " + "bà con cảnh giác lừa đảo qua điện thoại. " * 12
                            for n in range(20))
    for language in ("vi", "en"):
        write(tmp_path, f"articles/lua-dao/{language}.md",
              article("lua-dao", language, long_body + "\n\nXem [tố giác](article:to-giac).", QUIZ))
        write(tmp_path, f"articles/to-giac/{language}.md",
              article("to-giac", language, "Gọi **113** khi khẩn cấp.\n\n- Báo công an xã\n- Dùng /tip"))
        write(tmp_path, f"pledges/2026.1/{language}.md",
              f"---\nversion: \"2026.1\"\nlanguage: {language}\ntitle: \"Cam kết\"\n---\n1. Chấp hành pháp luật.\n")
    return tmp_path


def test_the_shipped_catalog_is_valid():
    assert check_catalog(default_root()) == []
    catalog = Catalog.load()
    assert {language for _, language in catalog.articles} == {"vi", "en"}


def test_content_check_reports_every_broken_rule(tmp_path, capsys):
    write(tmp_path, "articles/a-b/vi.md", article("a-b", "vi", "Xem [x](article:khong-co) và [y](ftp://z).",
                                                  'quiz:\n  - question: "?"\n    options: ["một", "hai"]\n    answer: 3\n'))
    write(tmp_path, "articles/Bad_ID/vi.md", article("Bad_ID", "vi", "Nội dung."))
    write(tmp_path, "articles/c-d/vi.md", "no front matter")
    assert main(["content", "check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Liên kết tới bài không có: article:khong-co" in err
    assert "Liên kết không hợp lệ: ftp://z" in err
    assert "Câu 1: đáp án phải là số thứ tự của một lựa chọn." in err
    assert "Thiếu bản en." in err
    assert "Mã bài “Bad_ID”" in err
    assert "articles/c-d/vi.md: Không đọc được tệp" in err


def test_content_check_from_the_command_line_passes_on_the_shipped_catalog(capsys):
    assert main(["content", "check"]) == 0
    assert "Kho nội dung hợp lệ" in capsys.readouterr().out


@pytest.fixture
async def resident(session):
    """A consented member (Telegram user 1001) of household H001 in hamlet H11."""
    places = await tree(session)
    member = await give_consent(session, "telegram", "1001", None)
    await join_household(session, member, places.households["H11"][0].id)
    await session.commit()
    return places


async def test_a_long_article_is_split_under_the_telegram_limit_with_buttons_last(
        app, chat, small_catalog, resident):
    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    await chat.send("/learn")
    assert chat.buttons() == ["learn:t:fraud", "mm:show"]
    await chat.press("learn:t:fraud")
    pieces = await chat.press("learn:a:lua-dao")
    sent = [r for r in chat.session.requests if type(r).__name__ == "SendMessage"][-len(pieces):]
    assert len(pieces) >= 3
    assert all(len(request.text) <= 4096 for request in sent)
    assert sent[-1].reply_markup is not None and all(r.reply_markup is None for r in sent[:-1])
    assert "Đoạn 19" in pieces[-2] + pieces[-1]
    assert chat.buttons() == ["learn:r:lua-dao:1", "quiz:s:lua-dao", "learn:a:to-giac", "learn:topics"]


async def test_marking_read_counts_the_household_once(app, chat, session, small_catalog, resident):
    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    await chat.send("/learn")
    await chat.press("learn:t:fraud")
    await chat.press("learn:a:to-giac")
    [reply] = await chat.press("learn:r:to-giac:1")
    assert "hộ Nguyễn Văn An đã được tuyên truyền" in reply
    [reply] = await chat.press("learn:r:to-giac:1", forged=True)
    assert "rồi" in reply
    reading = await fetch(session, select(Reading))
    assert await count(session, Reading) == 1
    assert (reading.household_id, reading.campaign_id) == (resident.households["H11"][0].id, resident.campaign.id)
    [reply] = await chat.press("learn:r:to-giac:7", forged=True)  # a version nobody offered
    assert "cập nhật" in reply and await count(session, Reading) == 1


async def test_a_reader_who_did_not_join_is_thanked_and_nothing_is_stored(app, chat, session, small_catalog):
    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    [reply] = await chat.press("learn:r:to-giac:1", forged=True)
    assert "/join" in reply
    assert await count(session, Reading) == 0


async def test_the_quiz_scores_explains_and_passing_counts_the_reach(app, chat, session, small_catalog, resident):
    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    [question] = await chat.press("quiz:s:lua-dao", forged=True)
    assert "Câu 1/3." in question and "A. Sai" in question and "B. Đúng" in question
    assert chat.buttons() == ["quiz:a:lua-dao:0:0", "quiz:a:lua-dao:0:1", "quiz:a:lua-dao:0:2"]
    verdict, question = await chat.press("quiz:a:lua-dao:0:0")
    assert "Chưa đúng" in verdict and "B. Đúng" in verdict and "Vì đúng là đúng." in verdict
    assert "Câu 2/3." in question
    # Answering question 1 again (an old button) changes nothing.
    reply, question = await chat.press("quiz:a:lua-dao:0:1", forged=True)
    assert "trả lời câu này rồi" in reply and "Câu 2/3." in question
    verdict, _ = await chat.press("quiz:a:lua-dao:1:0")
    assert "Đúng rồi" in verdict
    verdict, result = await chat.press("quiz:a:lua-dao:2:1")
    assert "Kết quả: đúng 2/3 câu" in result and "được ghi nhận" in result
    attempt = await fetch(session, select(QuizAttempt))
    assert (attempt.answers, attempt.score, attempt.total) == ([0, 0, 1], 2, 3)
    assert attempt.finished_at is not None
    assert await count(session, Reading) == 1  # passing counted the household as reached
    [reply] = await chat.press("quiz:s:lua-dao", forged=True)
    assert "đúng 2/3 câu" in reply


async def test_a_failed_quiz_does_not_count_the_reach(app, chat, session, small_catalog, resident):
    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    await chat.press("quiz:s:lua-dao", forged=True)
    for number, wrong in ((0, 0), (1, 1), (2, 0)):
        *_, last = await chat.press(f"quiz:a:lua-dao:{number}:{wrong}")
    assert "đọc lại bài" in last
    assert await count(session, Reading) == 0


@pytest.mark.parametrize("data", ["quiz:a:lua-dao:9:0", "quiz:a:lua-dao:0:9", "quiz:a:khong-co:0:0",
                                  "quiz:a:lua-dao:x:y", "quiz:a:"])
async def test_forged_quiz_answers_change_nothing(app, chat, session, small_catalog, resident, data):
    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    [reply] = await chat.press(data, forged=True)
    assert "không còn dùng được" in reply
    assert await count(session, QuizAttempt) == 0


async def test_a_quiz_needs_a_member(app, chat, session, small_catalog):
    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    [reply] = await chat.press("quiz:s:lua-dao", forged=True)
    assert "/join" in reply
    assert await count(session, QuizAttempt) == 0


def test_one_splitter_keeps_paragraphs_then_lines_then_words():
    from db.text import split_text

    paragraphs = ["a" * 30, "b" * 30, "c" * 30]
    assert split_text("\n\n".join(paragraphs), 70) == ["a" * 30 + "\n\n" + "b" * 30, "c" * 30]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    parts = split_text(" ".join(["từ"] * 100), 40)
    assert all(len(part) <= 40 for part in parts) and " ".join(parts).split() == ["từ"] * 100
    assert split_text("\n\n", 10) == []


READ = "learn:r:to-giac-toi-pham:2"  # "Đã đọc" under a shipped article (version 2 since issue 20)


async def register_pending_household(chat, places, user_id: int = 1001) -> None:
    """The resident joins H11 from its QR code and registers a household not on the list."""
    await chat.send(f"/start j_{places.h11.join_code}", user_id=user_id)
    await chat.press("consent:yes", user_id=user_id)
    await chat.press("hh:new", user_id=user_id)
    for text in ("Ngô Thị Lan", "Tổ 4, ấp Bình Long", "3"):
        await chat.send(text, user_id=user_id)
    await chat.press("hh:register", user_id=user_id)


async def test_a_reading_while_the_household_waits_counts_once_it_is_approved(chat, session):
    from db.models import Household
    from db.services.members import grant_role

    places = await tree(session)
    await grant_role(session, "telegram", "3004", "hamlet_head", "H11")
    await session.commit()
    await register_pending_household(chat, places)
    [reply] = await chat.press(READ, forged=True)
    assert "chờ trưởng ấp duyệt" in reply and "chưa ở trong hộ nào" not in reply
    assert READ in chat.buttons()  # to press again once approved
    assert await count(session, Reading) == 0
    pending = await fetch(session, select(Household).where(Household.code == "DK0001"))
    await chat.send("/approve", user_id=3004)
    await chat.press(f"ap:y:{pending.id}", user_id=3004)
    [reply] = await chat.press(READ)
    assert "hộ Ngô Thị Lan đã được tuyên truyền" in reply
    reading = await fetch(session, select(Reading))
    assert (reading.household_id, reading.campaign_id) == (pending.id, places.campaign.id)
    [summary] = await chat.send("/households", user_id=3004)
    assert "Đã được tuyên truyền: 1/6" in summary


async def test_a_reading_before_choosing_a_household_counts_once_the_member_joins_one(chat, session):
    places = await tree(session)
    await chat.send(f"/start j_{places.h11.join_code}")
    await chat.press("consent:yes")
    [reply] = await chat.press(READ, forged=True)
    assert "chưa ở trong hộ nào" in reply and "/join" in reply
    assert await count(session, Reading) == 0
    await chat.send(f"/join {places.h11.join_code}")
    await chat.send("Nguyễn Văn An")
    await chat.press(f"hh:pick:{places.households['H11'][0].id}")
    [reply] = await chat.press(READ, forged=True)
    assert "hộ Nguyễn Văn An đã được tuyên truyền" in reply
    assert await count(session, Reading, Reading.household_id == places.households["H11"][0].id) == 1


async def test_a_household_reached_last_year_is_counted_again_in_the_new_campaign(app, chat, session):
    from db.models import Household
    from db.services.campaigns import create_campaign
    from db.services.members import grant_role
    from testkit.delivery_fakes import FakeClock, local

    clock = app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    places = await tree(session, year=2026)
    member = await give_consent(session, "telegram", "1001", None)
    await join_household(session, member, places.households["H11"][0].id)
    await grant_role(session, "telegram", "3004", "hamlet_head", "H11")
    await session.commit()
    [reply] = await chat.press(READ, forged=True)
    assert "đã được tuyên truyền" in reply
    [reply] = await chat.press(READ, forged=True)
    assert "rồi" in reply
    await create_campaign(session, places.province, 2027, "Năm 2027", pledge_version="2026.1")
    await session.commit()
    clock.set(local(2027, 2, 1, 9, 0))
    [summary] = await chat.send("/households", user_id=3004)
    assert "đợt thi đua 2027" in summary and "Đã được tuyên truyền: 0/5" in summary
    [reply] = await chat.press(READ, forged=True)
    assert "hộ Nguyễn Văn An đã được tuyên truyền" in reply
    [summary] = await chat.send("/households", user_id=3004)
    assert "Đã được tuyên truyền: 1/5" in summary
    years = await fetch(session, select(func.count(func.distinct(Reading.campaign_id))))
    assert years == 2 and await count(session, Reading) == 2
    assert await count(session, Household, Household.status == "active") == 7


async def test_a_quiz_passed_in_a_new_campaign_counts_again(app, chat, session, small_catalog):
    from db.services.campaigns import create_campaign
    from testkit.delivery_fakes import FakeClock, local

    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    clock = app.dispatcher["clock"] = FakeClock(local(2026, 8, 10, 9, 0))
    places = await tree(session, year=2026)
    member = await give_consent(session, "telegram", "1001", None)
    await join_household(session, member, places.households["H11"][0].id)
    await session.commit()

    async def pass_the_quiz() -> str:
        await chat.press("quiz:s:lua-dao", forged=True)
        for number, right in ((0, 1), (1, 0)):
            await chat.press(f"quiz:a:lua-dao:{number}:{right}")
        *_, result = await chat.press("quiz:a:lua-dao:2:1")
        return result

    assert "được ghi nhận" in await pass_the_quiz()
    [reply] = await chat.press("quiz:s:lua-dao", forged=True)
    assert "Bạn đã làm bài này: đúng 3/3 câu" in reply
    await create_campaign(session, places.province, 2027, "Năm 2027", pledge_version="2026.1")
    await session.commit()
    clock.set(local(2027, 2, 1, 9, 0))
    assert "được ghi nhận" in await pass_the_quiz()
    assert await count(session, QuizAttempt) == 2 and await count(session, Reading) == 2


async def test_a_quiz_passed_while_the_household_waits_says_why_it_does_not_count(app, chat, session, small_catalog):
    app.dispatcher["catalog"] = Catalog.load(small_catalog)
    places = await tree(session)
    await register_pending_household(chat, places)
    await chat.press("quiz:s:lua-dao", forged=True)
    for number, right in ((0, 1), (1, 0)):
        await chat.press(f"quiz:a:lua-dao:{number}:{right}")
    *_, result = await chat.press("quiz:a:lua-dao:2:1")
    assert "Bạn đã nắm được bài" in result and "chờ trưởng ấp duyệt" in result
    attempt = await fetch(session, select(QuizAttempt))
    assert (attempt.score, attempt.household_id, attempt.campaign_id) == (3, None, None)
    assert await count(session, Reading) == 0


def complete_catalog(root: Path) -> None:
    """A catalog that passes the check: one article per seed topic, and a pledge in vi and en."""
    from content.check import TOPICS

    for topic in TOPICS:
        for language in ("vi", "en"):
            write(root, f"articles/{topic.replace('_', '-')}/{language}.md",
                  article(topic.replace("_", "-"), language, "Nội dung.").replace("topic: fraud", f"topic: {topic}"))
    for language in ("vi", "en"):
        write(root, f"pledges/2026.1/{language}.md",
              f"---\nversion: \"2026.1\"\nlanguage: {language}\ntitle: \"Cam kết\"\n---\n1. Chấp hành pháp luật.\n")


def check_errors(root: Path, capsys) -> str:
    assert main(["content", "check", "--root", str(root)]) == 1
    return capsys.readouterr().err


def test_a_complete_small_catalog_passes_the_check(tmp_path, capsys):
    complete_catalog(tmp_path)
    assert check_catalog(tmp_path) == []


def test_malformed_front_matter_is_a_problem_not_a_traceback(tmp_path, capsys):
    complete_catalog(tmp_path)
    write(tmp_path, "articles/fire/vi.md", "---\nid: fire\ntitle: \"không đóng\n  topic: [fire\n---\nNội dung.\n")
    write(tmp_path, "articles/fire/en.md", "---\nid: fire\ntopic: fire\n")  # never closed
    write(tmp_path, "pledges/2026.1/en.md", "---\nversion: \"2026.1\"\nlanguage: en\n---\nNo title.\n")
    err = check_errors(tmp_path, capsys)
    assert "articles/fire/vi.md: Phần đầu (front matter) không phải YAML hợp lệ, gần dòng" in err
    assert "articles/fire/en.md: Không đọc được tệp: the front matter block has no closing --- line" in err
    assert "pledges/2026.1/en.md: Phần đầu thiếu trường 'title'." in err
    assert "Traceback" not in err


def test_the_check_wants_explanations_every_topic_and_a_complete_pledge(tmp_path, capsys):
    complete_catalog(tmp_path)
    for language in ("vi", "en"):
        write(tmp_path, f"articles/fraud/{language}.md", article(
            "fraud", language, "Nội dung.", 'quiz:\n  - question: "?"\n    options: ["một", "hai"]\n    answer: 1\n'))
    for language in ("vi", "en"):
        (tmp_path / f"articles/drugs/{language}.md").unlink()
    (tmp_path / "pledges/2026.1/en.md").unlink()
    err = check_errors(tmp_path, capsys)
    assert "articles/fraud/vi.md: Câu 1: cần lời giải thích (explain)." in err
    assert "articles: Chưa có bài nào về chủ đề drugs." in err
    assert "pledges/2026.1: Thiếu bản en." in err
    assert "pledges: Chưa có văn bản cam kết nào đủ mọi ngôn ngữ (vi, en)." in err


def test_pledge_texts_must_be_nfc(tmp_path, capsys):
    import unicodedata

    complete_catalog(tmp_path)
    write(tmp_path, "pledges/2026.1/vi.md", unicodedata.normalize(
        "NFD", "---\nversion: \"2026.1\"\nlanguage: vi\ntitle: \"Cam kết\"\n---\nChấp hành pháp luật.\n"))
    assert "pledges/2026.1/vi.md: Văn bản không ở dạng Unicode NFC." in check_errors(tmp_path, capsys)


def test_an_article_id_too_long_for_the_quiz_buttons_is_refused(tmp_path, capsys):
    from content.check import longest_button_data

    complete_catalog(tmp_path)
    fits, too_long = "a" * 53, "a" * 54  # "quiz:a:<id>:0:2" stays within 64 bytes with 53
    for article_id in (fits, too_long):
        for language in ("vi", "en"):
            write(tmp_path, f"articles/{article_id}/{language}.md", article(article_id, language, "Nội dung.", QUIZ))
    err = check_errors(tmp_path, capsys)
    assert f"Mã bài “{too_long}” dài quá: nút “quiz:a:{too_long}:0:2” dài 65 byte" in err
    assert f"Mã bài “{fits}”" not in err
    assert longest_button_data(Catalog.load(tmp_path).article(fits, "vi")) == f"quiz:a:{fits}:0:2"


async def test_every_button_of_the_longest_article_id_the_check_allows_fits_telegram(app, chat, tmp_path, resident):
    """The check's idea of the buttons (content/check.py) matches what /learn and the quiz send."""
    longest = "a" * 53
    for language in ("vi", "en"):
        write(tmp_path, f"articles/{longest}/{language}.md", article(longest, language, "Nội dung.", QUIZ))
    app.dispatcher["catalog"] = Catalog.load(tmp_path)
    await chat.send("/learn")
    await chat.press("learn:t:fraud")
    seen = chat.buttons()
    await chat.press("quiz:s:" + longest)
    for number in range(3):
        seen += chat.buttons()
        await chat.press(f"quiz:a:{longest}:{number}:1")
    assert f"quiz:a:{longest}:0:2" in seen
    assert max(len(data.encode()) for data in seen) == 64
