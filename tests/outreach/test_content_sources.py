"""Outreach content that is traceable and current (issue 20): every article cites its sources and
a review date, the check refuses the administrative words abolished in 2025 unless a passage is
marked historical, readers see the sources under "Nguồn", the movement article shows the running
campaign's targets, and readings and quizzes count against the version read."""

from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.cli.main import main
from content.catalog import Catalog
from db.models import Campaign, Pledge, QuizAttempt, Reading
from db.services.joining import give_consent, join_household
from db.services.members import grant_role
from testkit.arrange import local_today, tree
from testkit.fakes import count, fetch
from tests.outreach.test_learn_and_quiz import article, complete_catalog, write

TODAY = "2026-12-04"


def check(root: Path, capsys, today: str = TODAY) -> tuple[int, str]:
    """`binhyen content check` on `root` as on `today`: its exit code and what it wrote to stderr."""
    code = main(["content", "check", "--root", str(root), "--today", today])
    return code, capsys.readouterr().err


def both(root: Path, article_id: str, body: str, trace: str, quiz: str = "", topic: str = "fraud") -> None:
    """The article in Vietnamese and English with the same front matter."""
    for language in ("vi", "en"):
        write(root, f"articles/{article_id}/{language}.md",
              article(article_id, language, body, quiz, trace=trace).replace("topic: fraud", f"topic: {topic}"))


def test_an_article_without_sources_is_refused(tmp_path, capsys):
    complete_catalog(tmp_path)
    both(tmp_path, "fraud", "Nội dung.", "reviewed: 2026-01-15\n")
    both(tmp_path, "drugs", "Nội dung.", "reviewed: 2026-01-15\nsources: []\n", topic="drugs")
    code, err = check(tmp_path, capsys)
    assert code == 1
    for name in ("articles/fraud/vi.md", "articles/fraud/en.md", "articles/drugs/vi.md"):
        assert f"{name}: Bài chưa có nguồn (sources)" in err


def test_each_source_is_checked_and_the_languages_cite_the_same(tmp_path, capsys):
    complete_catalog(tmp_path)
    sources = """reviewed: 2026-01-15
sources:
  - title: "Bộ luật Tố tụng hình sự 2015"
    number: "101-2015"
    articles: "111"
  - title: "Một trang"
    url: "http://example.com/luat"
    page: 3
  - number: "53/2024/QH15"
"""
    both(tmp_path, "fraud", "Nội dung.", sources)
    write(tmp_path, "articles/drugs/en.md", article("drugs", "en", "Text.", trace=TRACE_111).replace(
        "topic: fraud", "topic: drugs"))
    write(tmp_path, "articles/drugs/vi.md", article("drugs", "vi", "Nội dung.", trace=TRACE_111.replace(
        "[111]", "[111, 144]")).replace("topic: fraud", "topic: drugs"))
    both(tmp_path, "theft", "Nội dung.", 'reviewed: 2026-01-15\nsources: "Bộ luật Hình sự"\n', topic="theft")
    both(tmp_path, "traffic", "Nội dung.", 'reviewed: 2026-01-15\nsources: ["Bộ luật Hình sự"]\n', topic="traffic")
    code, err = check(tmp_path, capsys)
    assert code == 1
    assert "articles/theft/vi.md: sources phải là danh sách các nguồn." in err
    assert "articles/traffic/vi.md: Nguồn 1: cần là một mục có title, number, articles, url." in err
    assert "articles/fraud/vi.md: Nguồn 1: số hiệu “101-2015” không đúng dạng" in err
    assert "Nguồn 1: articles là danh sách số điều" in err
    assert "Nguồn 2: liên kết “http://example.com/luat” phải là https tới trang chính thức" in err
    assert "Nguồn 2: không có trường “page”" in err
    assert "Nguồn 3: cần tên văn bản (title)." in err
    assert "articles/drugs: Các bản ngôn ngữ dẫn nguồn khác nhau" in err
    assert "articles/fraud: Các bản ngôn ngữ dẫn nguồn khác nhau" not in err


TRACE_111 = """reviewed: 2026-01-15
sources:
  - title: "Bộ luật Tố tụng hình sự 2015"
    number: "101/2015/QH13"
    articles: [111]
    url: "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx"
"""


def test_a_review_older_than_a_year_is_a_warning_and_a_missing_or_future_one_a_problem(tmp_path, capsys):
    complete_catalog(tmp_path)
    trace = TRACE_111.replace("2026-01-15", "{day}")
    both(tmp_path, "fraud", "Nội dung.", trace.format(day="2025-12-03"))
    both(tmp_path, "drugs", "Nội dung.", trace.format(day="2025-12-04"), topic="drugs")
    code, err = check(tmp_path, capsys)
    assert code == 0, err
    assert ("articles/fraud/vi.md: cảnh báo: Bài được rà soát lần cuối ngày 03/12/2025, đã quá một năm"
            in err)
    assert "articles/drugs" not in err  # exactly a year ago is still fine
    # A year later the second one is due too, and the check still passes.
    code, err = check(tmp_path, capsys, today="2026-12-05")
    assert code == 0 and "articles/drugs/vi.md: cảnh báo:" in err

    both(tmp_path, "fraud", "Nội dung.", trace.format(day="2026-12-05"))
    both(tmp_path, "drugs", "Nội dung.", trace.format(day="hôm qua"), topic="drugs")
    both(tmp_path, "theft", "Nội dung.", trace.replace("reviewed: {day}\n", ""), topic="theft")
    code, err = check(tmp_path, capsys)
    assert code == 1
    assert "articles/fraud/vi.md: Ngày rà soát 05/12/2026 ở sau hôm nay." in err
    assert "articles/drugs/vi.md: Ngày rà soát “hôm qua” không đúng dạng năm-tháng-ngày" in err
    assert "articles/theft/vi.md: Thiếu ngày rà soát (reviewed)" in err


def test_administrative_words_abolished_in_2025_are_refused_unless_marked_historical(tmp_path, capsys):
    complete_catalog(tmp_path)
    quiz = 'quiz:\n  - question: "Báo ai?"\n    options: ["Công an huyện", "Công an xã, phường"]\n' \
           '    answer: 2\n    explain: "Không còn cấp huyện."\n'
    both(tmp_path, "fraud", "Chuyện ở thị trấn Mỹ Thọ: báo Công an xã, phường.", TRACE_111, quiz)
    write(tmp_path, "articles/drugs/en.md", article("drugs", "en", "Tell the district police.").replace(
        "topic: fraud", "topic: drugs"))
    write(tmp_path, "pledges/2026.1/vi.md", '---\nversion: "2026.1"\nlanguage: vi\ntitle: "Cam kết"\n---\n'
                                            "1. Chấp hành quy ước của thị xã.\n")
    code, err = check(tmp_path, capsys)
    assert code == 1
    assert "articles/fraud/vi.md: Có từ chỉ đơn vị hành chính đã bỏ từ ngày 1/7/2025: “thị trấn”" in err
    assert "articles/fraud/vi.md: Có từ chỉ đơn vị hành chính đã bỏ từ ngày 1/7/2025: “huyện”" in err
    assert "articles/drugs/en.md: Có từ chỉ đơn vị hành chính đã bỏ từ ngày 1/7/2025: “district”" in err
    assert "pledges/2026.1/vi.md: Có từ chỉ đơn vị hành chính đã bỏ từ ngày 1/7/2025: “thị xã”" in err

    # The same words, in passages about the time before the reform, copied under historical:
    past = ["Chuyện ở thị trấn Mỹ Thọ", "Công an huyện", "Không còn cấp huyện."]
    historical = "historical:\n" + "".join(f'  - "{passage}"\n' for passage in past)
    both(tmp_path, "fraud", "Chuyện ở thị trấn Mỹ Thọ: báo Công an xã, phường.", TRACE_111 + historical, quiz)
    both(tmp_path, "drugs", "Chuyện nhà, chuyện xóm: báo Công an xã, phường.", TRACE_111, topic="drugs")
    write(tmp_path, "pledges/2026.1/vi.md", '---\nversion: "2026.1"\nlanguage: vi\ntitle: "Cam kết"\n---\n'
                                            "1. Chấp hành quy ước của khu dân cư.\n")
    code, err = check(tmp_path, capsys)
    assert code == 0, err

    # A passage marked historical that the article does not contain is a mistake.
    both(tmp_path, "fraud", "Báo Công an xã, phường.", TRACE_111 + 'historical:\n  - "huyện Cao Lãnh"\n')
    code, err = check(tmp_path, capsys)
    assert code == 1 and "articles/fraud/vi.md: Đoạn historical “huyện Cao Lãnh” không có trong bài." in err


def test_only_the_targets_placeholder_is_allowed_and_only_in_the_body(tmp_path, capsys):
    complete_catalog(tmp_path)
    both(tmp_path, "movement", "Chỉ tiêu năm nay:\n\n{targets}", TRACE_111, topic="movement")
    both(tmp_path, "fraud", "Chỉ tiêu: {muc_tieu}", TRACE_111)
    write(tmp_path, "articles/drugs/vi.md", article("drugs", "vi", "Nội dung.").replace(
        "topic: fraud", "topic: drugs").replace('summary: "Tóm tắt"', 'summary: "Chỉ tiêu {targets}"'))
    code, err = check(tmp_path, capsys)
    assert code == 1
    assert "articles/fraud/vi.md: Chỗ điền “{muc_tieu}” không dùng được: chỉ có {targets}" in err
    assert "articles/drugs/vi.md: Chỗ điền “{targets}” không dùng được" in err
    assert "articles/movement" not in err


@pytest.fixture
async def resident(session):
    """Member 1001 of household H001 in hamlet H11, under this year's campaign of Tỉnh Thử."""
    places = await tree(session)
    member = await give_consent(session, "telegram", "1001", None)
    await join_household(session, member, places.households["H11"][0].id)
    await session.commit()
    return places


def sent_html(chat, pieces: list[str]) -> list[str]:
    """The HTML of the last messages sent, as the Bot API got them (the pieces are rendered text)."""
    return [r.text for r in chat.session.requests if type(r).__name__ == "SendMessage"][-len(pieces):]


async def test_an_article_ends_with_its_sources_in_the_readers_language(chat):
    pieces = await chat.send("/learn trom-cap")
    assert sent_html(chat, pieces)[-1].endswith(
        "<b>Nguồn</b>\n"
        "• Bộ luật Tố tụng hình sự 2015, số 101/2015/QH13, Điều 111\n"
        "• Bộ luật Hình sự 2015 (sửa đổi, bổ sung năm 2017), số 100/2015/QH13, Điều 123, 134, 323")
    assert "Nguồn" not in "".join(pieces[:-1])
    await chat.send("/language")
    await chat.press("lang:en")
    pieces = await chat.send("/learn trom-cap")
    assert ("Sources\n• Criminal Procedure Code 2015 (Bộ luật Tố tụng hình sự), No. 101/2015/QH13, "
            "Article 111\n") in pieces[-1]
    assert "No. 100/2015/QH13, Articles 123, 134, 323" in pieces[-1]


async def test_a_source_with_a_link_links_its_title(app, chat, tmp_path):
    both(tmp_path, "to-giac", "Gọi **113** khi khẩn cấp.", TRACE_111)
    app.dispatcher["catalog"] = Catalog.load(tmp_path)
    pieces = await chat.send("/learn to-giac")
    assert ('• <a href="https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx">Bộ luật Tố tụng hình sự 2015</a>, '
            "số 101/2015/QH13, Điều 111") in sent_html(chat, pieces)[-1]
    # A channel without links shows the address beside the title.
    assert "• Bộ luật Tố tụng hình sự 2015 (https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx), số" in pieces[-1]


async def test_quiz_explanations_name_the_law(chat, resident):
    await chat.press("quiz:s:trom-cap", forged=True)
    for number in range(3):
        await chat.press(f"quiz:a:trom-cap:{number}:0")
    verdict, _result = await chat.press("quiz:a:trom-cap:3:0")  # "beat him", the wrong answer
    assert "Chưa đúng" in verdict and "giao ngay người đó cho công an" in verdict
    assert "Bộ luật Tố tụng hình sự, Điều 111" in verdict and "Bộ luật Hình sự, Điều 123, 134" in verdict


def targets_text(pieces: list[str]) -> str:
    text = "\n".join(pieces)
    assert "{targets}" not in text
    return text


async def test_the_movement_article_shows_the_running_campaigns_targets(chat, session, resident):
    year = local_today().year
    pieces = await chat.send("/learn phong-trao-toan-dan")
    assert f"<b>Chỉ tiêu thi đua năm {year} của Tỉnh Thử:</b>\n• " in "\n".join(sent_html(chat, pieces))
    text = targets_text(pieces)
    assert (f"Chỉ tiêu thi đua năm {year} của Tỉnh Thử:\n"
            "• Hộ gia đình được tuyên truyền về phòng, chống tội phạm, tệ nạn xã hội: 70%\n"
            "• Hộ gia đình ký cam kết giao ước thi đua: 100%\n"
            "• Xã, phường, đặc khu đạt tiêu chuẩn “An toàn về an ninh, trật tự”: 95%\n") in text
    assert "ít nhất 1 ở mỗi xã, phường, đặc khu" in text
    assert "Đồng Tháp" not in text and "thị trấn" not in text

    # The province sets other targets: the article follows them.
    await session.execute(update(Campaign).where(Campaign.id == resident.campaign.id).values(
        targets={"households_reached_pct": 85, "households_pledged_pct": 100, "unknown_pct": 3}))
    await session.commit()
    text = targets_text(await chat.send("/learn phong-trao-toan-dan"))
    assert "tệ nạn xã hội: 85%" in text and "ký cam kết giao ước thi đua: 100%" in text
    assert "Xã, phường, đặc khu đạt" not in text and "3%" not in text

    # An officer of a commune under it sees the same campaign; in English, in English.
    await grant_role(session, "telegram", "2002", "officer", "C1")
    await session.commit()
    await chat.send("/language", user_id=2002)
    await chat.press("lang:en", user_id=2002)
    text = targets_text(await chat.send("/learn phong-trao-toan-dan", user_id=2002))
    assert (f"Competition targets for {year} in Tỉnh Thử:\n"
            "• Households reached by outreach on preventing crime and social evils: 85%") in text


async def test_without_a_running_campaign_the_movement_article_says_where_targets_come_from(chat, session):
    places = await tree(session, year=None)
    member = await give_consent(session, "telegram", "1002", None)
    await join_household(session, member, places.households["H11"][0].id)
    await session.commit()
    for user_id in (1001, 1002):  # someone who never joined, and a resident of a hamlet without a campaign
        text = targets_text(await chat.send("/learn phong-trao-toan-dan", user_id=user_id))
        assert "Chỉ tiêu cụ thể do Ban Chỉ đạo 138 của tỉnh đề ra trong kế hoạch thi đua hằng năm." in text
        assert "Chỉ tiêu thi đua năm" not in text


CHANGED = ("trom-cap", "phong-chay-chua-chay", "mua-ban-nguoi", "phong-trao-toan-dan", "to-giac-toi-pham",
           "ma-tuy", "lua-dao-cong-nghe-cao", "co-bac-te-nan")


async def test_readings_and_quizzes_count_against_the_new_versions(chat, session, resident):
    catalog = Catalog.load()
    assert {catalog.article(article_id, language).version for article_id in CHANGED
            for language in ("vi", "en")} == {"2"}
    [reply] = await chat.press("learn:r:trom-cap:1", forged=True)  # under the article as it was
    assert "đã được cập nhật" in reply and await count(session, Reading) == 0
    await chat.send("/learn trom-cap")
    assert "learn:r:trom-cap:2" in chat.buttons()
    [reply] = await chat.press("learn:r:trom-cap:2")
    assert "hộ Nguyễn Văn An đã được tuyên truyền" in reply
    reading = await fetch(session, select(Reading))
    assert (reading.article_id, reading.article_version) == ("trom-cap", "2")

    await chat.press("quiz:s:phong-chay-chua-chay", forged=True)
    await chat.press("quiz:a:phong-chay-chua-chay:0:1")
    verdict, _next = await chat.press("quiz:a:phong-chay-chua-chay:1:1")
    assert "Đúng rồi" in verdict and "nắp kim loại" in verdict and "không di chuyển chảo" in verdict
    attempt = await fetch(session, select(QuizAttempt))
    assert (attempt.article_id, attempt.article_version, attempt.answers) == ("phong-chay-chua-chay", "2", [1, 1])


async def test_a_new_campaign_takes_the_pledge_text_that_no_longer_scares_borrowers(chat, session):
    from db.services.campaigns import create_campaign

    places = await tree(session, year=None)
    newest = Catalog.load().newest_pledge_version()
    await create_campaign(session, places.province, local_today().year, "Năm nay", pledge_version=newest)
    member = await give_consent(session, "telegram", "1001", None)
    await join_household(session, member, places.households["H11"][0].id)
    await session.commit()
    [shown] = await chat.send("/pledge")
    assert "không cho vay nặng lãi, không tiếp tay đòi nợ trái phép" in shown
    assert "tín dụng đen" not in shown and "khóm, ấp" not in shown
    await chat.press("pledge:confirm")
    pledge = await fetch(session, select(Pledge))
    assert (newest, pledge.pledge_version) == ("2026.2", "2026.2")
    # The text households confirmed under 2026.1 stays as it was.
    assert "tín dụng đen" in Catalog.load().pledge("2026.1", "vi").body
