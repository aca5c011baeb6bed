"""`binhyen content check`: the rules every catalog must follow, as a list of problems."""

import re
import unicodedata
from pathlib import Path

from content.catalog import LANGUAGES, parse_article, parse_pledge
from content.markdown import ARTICLE_LINK, links

TOPICS = ("drugs", "gambling", "fraud", "theft", "child_abuse", "domestic_violence",
          "trafficking", "traffic", "fire", "reporting", "self_management", "movement")
ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
MAX_QUESTIONS = 5
MAX_OPTION = 100


def N_(message: str) -> str:
    """Mark a message for the catalogs; the CLI translates it."""
    return message


Problem = tuple[str, str, dict]  # (file, message msgid, params)


def check_catalog(root: Path) -> list[Problem]:
    """Every problem of the catalog under `root`; an empty list means it is sound."""
    problems: list[Problem] = []
    articles = {}
    for path in sorted(root.glob("articles/*/*.md")):
        name = str(path.relative_to(root))
        problems += [(name, N_("Văn bản không ở dạng Unicode NFC."), {})] if not _nfc(path) else []
        try:
            article = parse_article(path)
        except (ValueError, KeyError, TypeError) as error:
            problems.append((name, N_("Không đọc được tệp: {error}"), {"error": str(error)}))
            continue
        problems += [(name, message, params) for message, params in _article_problems(path, article)]
        articles[(article.id, article.language)] = article
    ids = {article_id for article_id, _ in articles}
    for article_id in sorted(ids):
        versions = {lang: articles.get((article_id, lang)) for lang in LANGUAGES}
        for lang, article in versions.items():
            if article is None:
                problems.append((f"articles/{article_id}", N_("Thiếu bản {language}."),
                                 {"language": lang}))
        present = [a for a in versions.values() if a is not None]
        shapes = {(a.topic, a.version, tuple((len(q.options), q.answer) for q in a.quiz))
                  for a in present}
        if len(shapes) > 1:
            problems.append((f"articles/{article_id}",
                             N_("Các bản ngôn ngữ khác nhau về chủ đề, phiên bản hoặc câu hỏi."), {}))
        for article in present:
            for _, target in links(article.body):
                if target.startswith(ARTICLE_LINK) and target[len(ARTICLE_LINK):] not in ids:
                    problems.append((_name(root, article), N_("Liên kết tới bài không có: {target}"),
                                     {"target": target}))
    if not ids:
        problems.append(("articles", N_("Chưa có bài tuyên truyền nào."), {}))
    pledges = {}
    for path in sorted(root.glob("pledges/*/*.md")):
        name = str(path.relative_to(root))
        try:
            pledge = parse_pledge(path)
        except (ValueError, KeyError, TypeError) as error:
            problems.append((name, N_("Không đọc được tệp: {error}"), {"error": str(error)}))
            continue
        pledges.setdefault(pledge.version, set()).add(pledge.language)
        if path.parent.name != pledge.version or path.stem != pledge.language:
            problems.append((name, N_("Tên thư mục/tệp phải là phiên bản/ngôn ngữ."), {}))
    for version, languages in pledges.items():
        for lang in set(LANGUAGES) - languages:
            problems.append((f"pledges/{version}", N_("Thiếu bản {language}."), {"language": lang}))
    return problems


def _name(root: Path, article) -> str:
    return str(article.path.relative_to(root)) if article.path else article.id


def _nfc(path: Path) -> bool:
    return unicodedata.is_normalized("NFC", path.read_text(encoding="utf-8"))


def _article_problems(path: Path, article) -> list[tuple[str, dict]]:
    found = []
    if not ID.match(article.id) or path.parent.name != article.id:
        found.append((N_("Mã bài “{id}” phải là chữ thường, số, gạch ngang và trùng tên thư mục."),
                      {"id": article.id}))
    if article.language not in LANGUAGES or path.stem != article.language:
        found.append((N_("Ngôn ngữ “{language}” phải là vi hoặc en và trùng tên tệp."),
                      {"language": article.language}))
    if article.topic not in TOPICS:
        found.append((N_("Chủ đề không hợp lệ: {topic}."), {"topic": article.topic}))
    if not article.title.strip() or not article.body.strip():
        found.append((N_("Bài cần có tiêu đề và nội dung."), {}))
    if len(article.quiz) > MAX_QUESTIONS:
        found.append((N_("Tối đa {count} câu hỏi mỗi bài."), {"count": MAX_QUESTIONS}))
    for number, question in enumerate(article.quiz, start=1):
        if not 2 <= len(question.options) <= 6:
            found.append((N_("Câu {number}: cần từ 2 đến 6 lựa chọn."), {"number": number}))
        if not 0 <= question.answer < len(question.options):
            found.append((N_("Câu {number}: đáp án phải là số thứ tự của một lựa chọn."),
                          {"number": number}))
        if any(len(option) > MAX_OPTION or not option.strip() for option in question.options):
            found.append((N_("Câu {number}: mỗi lựa chọn có từ 1 đến {limit} ký tự."),
                          {"number": number, "limit": MAX_OPTION}))
    for _, target in links(article.body):
        if not (target.startswith(("https://", "http://")) or target.startswith(ARTICLE_LINK)):
            found.append((N_("Liên kết không hợp lệ: {target}"), {"target": target}))
    return found
