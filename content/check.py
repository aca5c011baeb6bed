"""`binhyen content check`: the rules every catalog must follow, as problems (which refuse the
catalog) and warnings (which only tell)."""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from content.catalog import LANGUAGES, ORGANIZATION_PLEDGES, parse_article, parse_pledge, read_document
from content.markdown import ARTICLE_LINK, links
from content.place_words import old_words
from content.placeholders import KNOWN, placeholders
from content.sources import FIELDS, NUMBER, OFFICIAL_HOSTS, official

TOPICS = ("drugs", "gambling", "fraud", "theft", "child_abuse", "domestic_violence",
          "trafficking", "traffic", "fire", "reporting", "self_management", "movement")
ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
MAX_QUESTIONS = 5
MAX_OPTION = 100
# Readings store the version in 16 characters (db/models/outreach.py).
MAX_VERSION = 16
# Telegram refuses a button whose callback data is longer than 64 bytes.
MAX_CALLBACK = 64


def N_(message: str) -> str:
    """Mark a message for the catalogs; the CLI translates it."""
    return message


Problem = tuple[str, str, dict]  # (file, message msgid, params)


@dataclass
class Findings:
    """What the check found: problems refuse the catalog, warnings do not."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check_catalog(root: Path, today: date | None = None) -> list[Problem]:
    """Every problem of the catalog under `root`; an empty list means it is sound."""
    return examine(root, today or date.today()).problems


def examine(root: Path, today: date) -> Findings:
    """The problems and warnings of the catalog under `root`, judged on `today` (a review is
    due a year after the last)."""
    findings = Findings()
    problems = findings.problems
    articles = {}
    for path in sorted(root.glob("articles/*/*.md")):
        name = str(path.relative_to(root))
        article, found = _read(path, parse_article)
        problems += [(name, message, params) for message, params in found]
        if article is None:
            continue
        problems += [(name, message, params) for message, params in _article_problems(path, article)]
        problems += [(name, message, params) for message, params in _traceability_problems(path, article, today)]
        if article.reviewed is not None and article.reviewed < _year_before(today):
            findings.warnings.append((name, N_("Bài được rà soát lần cuối ngày {date}, đã quá một năm: "
                                               "cần đối chiếu lại với nguồn và sửa ngày reviewed."),
                                      {"date": article.reviewed.strftime("%d/%m/%Y")}))
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
        if len({tuple(source.key() for source in a.sources) for a in present}) > 1:
            problems.append((f"articles/{article_id}", N_(
                "Các bản ngôn ngữ dẫn nguồn khác nhau: số hiệu, điều và liên kết phải giống nhau, "
                "cùng thứ tự."), {}))
        for article in present:
            for _, target in links(article.body):
                if target.startswith(ARTICLE_LINK) and target[len(ARTICLE_LINK):] not in ids:
                    problems.append((_name(root, article), N_("Liên kết tới bài không có: {target}"),
                                     {"target": target}))
    if not ids:
        problems.append(("articles", N_("Chưa có bài tuyên truyền nào."), {}))
    covered = {article.topic for article in articles.values()}
    for topic in TOPICS:
        if topic not in covered:
            problems.append(("articles", N_("Chưa có bài nào về chủ đề {topic}."), {"topic": topic}))
    pledges = {}
    for path in sorted(root.glob("pledges/*/*.md")):
        name = str(path.relative_to(root))
        pledge, found = _read(path, parse_pledge)
        problems += [(name, message, params) for message, params in found]
        if pledge is None:
            continue
        pledges.setdefault(pledge.version, set()).add(pledge.language)
        if path.parent.name != pledge.version or path.stem != pledge.language:
            problems.append((name, N_("Tên thư mục/tệp phải là phiên bản/ngôn ngữ."), {}))
        if not pledge.title.strip() or not pledge.body.strip():
            problems.append((name, N_("Văn bản cam kết cần có tiêu đề và nội dung."), {}))
        problems += [(name, message, params) for message, params
                     in _old_word_problems([pledge.title, pledge.body], pledge.language, ())]
    for version, languages in pledges.items():
        for lang in set(LANGUAGES) - languages:
            problems.append((f"pledges/{version}", N_("Thiếu bản {language}."), {"language": lang}))
    problems += _organization_pledge_problems(root)
    if not any(languages >= set(LANGUAGES) for languages in pledges.values()):
        problems.append(("pledges", N_("Chưa có văn bản cam kết nào đủ mọi ngôn ngữ ({languages})."),
                         {"languages": ", ".join(LANGUAGES)}))
    return findings


def _year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _texts(article, body: bool = True) -> list[str]:
    """The text a reader sees, besides the sources: title, summary, the body and the quiz."""
    texts = [article.title, article.summary] + ([article.body] if body else [])
    for question in article.quiz:
        texts += [question.text, *question.options, question.explain]
    return texts


def _old_word_problems(texts: list[str], language: str, historical: tuple[str, ...]) -> list[tuple[str, dict]]:
    words: list[str] = []
    for text in texts:
        words += [word for word in old_words(text, language, historical) if word not in words]
    return [(N_("Có từ chỉ đơn vị hành chính đã bỏ từ ngày 1/7/2025: “{word}”. Viết theo xã, phường, "
                "đặc khu; nếu đoạn đó nói về thời trước, chép nguyên đoạn vào historical."), {"word": word})
            for word in words]


def _traceability_problems(path: Path, article, today: date) -> list[tuple[str, dict]]:
    """Sources, the review date, passages marked historical, old administrative words and
    placeholders."""
    meta, _body = read_document(path)
    found = []
    raw = meta.get("sources")
    if not raw:
        found.append((N_("Bài chưa có nguồn (sources): dẫn các văn bản pháp luật, hướng dẫn chính thức "
                         "mà bài dựa vào."), {}))
    elif not isinstance(raw, list):
        found.append((N_("sources phải là danh sách các nguồn."), {}))
    else:
        for number, entry in enumerate(raw, start=1):
            found += _source_problems(number, entry)
    if "reviewed" not in meta:
        found.append((N_("Thiếu ngày rà soát (reviewed), dạng năm-tháng-ngày, ví dụ 2026-03-01."), {}))
    elif article.reviewed is None:
        found.append((N_("Ngày rà soát “{value}” không đúng dạng năm-tháng-ngày, ví dụ 2026-03-01."),
                      {"value": str(meta["reviewed"])}))
    elif article.reviewed > today:
        found.append((N_("Ngày rà soát {date} ở sau hôm nay."), {"date": article.reviewed.strftime("%d/%m/%Y")}))
    historical = meta.get("historical")
    texts = _texts(article)
    if historical is not None and not (isinstance(historical, list) and all(
            isinstance(item, str) and item.strip() for item in historical)):
        found.append((N_("historical phải là danh sách các đoạn chép nguyên từ bài."), {}))
    for passage in article.historical:
        if not any(passage in text for text in texts):
            found.append((N_("Đoạn historical “{passage}” không có trong bài."), {"passage": passage}))
    found += _old_word_problems(texts, article.language, article.historical)
    # A placeholder is filled in the body only (titles and summaries also go out in broadcasts).
    misplaced = [p for text in _texts(article, body=False) for p in placeholders(text)]
    for placeholder in misplaced + [p for p in placeholders(article.body) if p not in KNOWN]:
        found.append((N_("Chỗ điền “{placeholder}” không dùng được: chỉ có {known}, và chỉ trong nội dung "
                         "bài."), {"placeholder": placeholder, "known": ", ".join(KNOWN)}))
    return found


def _source_problems(number: int, entry) -> list[tuple[str, dict]]:
    """What is wrong with the `number`th (1-based) entry of `sources:` (content/sources.py)."""
    if not isinstance(entry, dict):
        return [(N_("Nguồn {number}: cần là một mục có title, number, articles, url."), {"number": number})]
    found = []
    for name in entry:
        if name not in FIELDS:
            found.append((N_("Nguồn {number}: không có trường “{field}”; dùng title, number, articles, url."),
                          {"number": number, "field": str(name)}))
    if not isinstance(entry.get("title"), str) or not entry["title"].strip():
        found.append((N_("Nguồn {number}: cần tên văn bản (title)."), {"number": number}))
    if "number" in entry and not (isinstance(entry["number"], str) and NUMBER.match(entry["number"])):
        found.append((N_("Nguồn {number}: số hiệu “{value}” không đúng dạng (ví dụ 101/2015/QH13, "
                         "2345/QĐ-NHNN)."), {"number": number, "value": str(entry["number"])}))
    articles = entry.get("articles")
    if "articles" in entry and not (isinstance(articles, list) and articles and all(
            isinstance(item, int) and not isinstance(item, bool) and item > 0 for item in articles)):
        found.append((N_("Nguồn {number}: articles là danh sách số điều, ví dụ [111, 144]."), {"number": number}))
    elif "articles" in entry and "number" not in entry:
        found.append((N_("Nguồn {number}: có số điều thì cần số hiệu văn bản (number)."), {"number": number}))
    if "url" in entry and not (isinstance(entry["url"], str) and official(entry["url"])):
        found.append((N_("Nguồn {number}: liên kết “{url}” phải là https tới trang chính thức ({hosts})."),
                      {"number": number, "url": str(entry["url"]), "hosts": ", ".join(OFFICIAL_HOSTS)}))
    return found


def _organization_pledge_problems(root: Path) -> list[Problem]:
    """An organization's text: read like a household's, in a folder `organization` of its
    version, in every language once there is one."""
    problems: list[Problem] = []
    versions: dict[str, set[str]] = {}
    for path in sorted(root.glob(ORGANIZATION_PLEDGES)):
        name = str(path.relative_to(root))
        pledge, found = _read(path, parse_pledge)
        problems += [(name, message, params) for message, params in found]
        if pledge is None:
            continue
        versions.setdefault(pledge.version, set()).add(pledge.language)
        if path.parent.parent.name != pledge.version or path.stem != pledge.language:
            problems.append((name, N_("Tên thư mục/tệp phải là phiên bản/ngôn ngữ."), {}))
        if not pledge.title.strip() or not pledge.body.strip():
            problems.append((name, N_("Văn bản cam kết cần có tiêu đề và nội dung."), {}))
    for version, languages in versions.items():
        for lang in set(LANGUAGES) - languages:
            problems.append((f"pledges/{version}/organization", N_("Thiếu bản {language}."),
                             {"language": lang}))
    return problems


def _read(path: Path, parse):
    """The parsed file and the problems of reading it (not UTF-8, not NFC, no front matter,
    front matter that is not YAML or lacks a field): (None, problems) when it cannot be read."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None, [(N_("Tệp không ở dạng UTF-8."), {})]
    found = [] if unicodedata.is_normalized("NFC", text) else [(N_("Văn bản không ở dạng Unicode NFC."), {})]
    try:
        return parse(path), found
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        # The front matter starts on the file's second line; the mark counts from 0.
        line = mark.line + 2 if mark is not None else 1
        return None, found + [(N_("Phần đầu (front matter) không phải YAML hợp lệ, gần dòng {line}."),
                               {"line": line})]
    except KeyError as error:
        return None, found + [(N_("Phần đầu thiếu trường {field}."), {"field": str(error)})]
    except (ValueError, TypeError, AttributeError) as error:
        return None, found + [(N_("Không đọc được tệp: {error}"), {"error": str(error)})]


def longest_button_data(article) -> str:
    """The longest callback data the article's buttons carry (handlers/outreach/learn.py and
    handlers/outreach/quiz.py build them this way): "Đã đọc", and the last option of the last question."""
    data = [f"learn:r:{article.id}:{article.version}", f"learn:a:{article.id}", f"quiz:s:{article.id}"]
    for number, question in enumerate(article.quiz):
        data.append(f"quiz:a:{article.id}:{number}:{max(len(question.options) - 1, 0)}")
    return max(data, key=lambda text: len(text.encode("utf-8")))


def _name(root: Path, article) -> str:
    return str(article.path.relative_to(root)) if article.path else article.id


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
    if len(article.version) > MAX_VERSION:
        found.append((N_("Phiên bản “{version}” dài quá {limit} ký tự."),
                      {"version": article.version, "limit": MAX_VERSION}))
    data = longest_button_data(article)
    if len(data.encode("utf-8")) > MAX_CALLBACK:
        found.append((N_("Mã bài “{id}” dài quá: nút “{data}” dài {length} byte, Telegram nhận tối đa "
                         "{limit}."), {"id": article.id, "data": data,
                                       "length": len(data.encode("utf-8")), "limit": MAX_CALLBACK}))
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
        if not question.explain.strip():
            # The member sees the right answer and why: the "why" is the explanation.
            found.append((N_("Câu {number}: cần lời giải thích (explain)."), {"number": number}))
    for _, target in links(article.body):
        if not (target.startswith(("https://", "http://")) or target.startswith(ARTICLE_LINK)):
            found.append((N_("Liên kết không hợp lệ: {target}"), {"target": target}))
    return found
