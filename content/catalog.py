"""The outreach catalog: articles (with quizzes) and pledge texts, read from Markdown files.

Layout: content/articles/<id>/<language>.md and content/pledges/<version>/<language>.md (the
household pledge), content/pledges/<version>/organization/<language>.md (the registration of an
agency, enterprise or school), each with YAML front matter. See content/check.py for the rules a catalog must follow.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from content.markdown import ARTICLE_LINK, links, to_html
from content.sources import Source, parse_reviewed, parse_sources

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
# Beside each household pledge version, the text an agency, enterprise or school confirms.
ORGANIZATION_PLEDGES = "pledges/*/organization/*.md"


@dataclass(frozen=True)
class Question:
    """A multiple-choice question; `answer` is the 0-based index of the right option."""

    text: str
    options: tuple[str, ...]
    answer: int
    explain: str


@dataclass(frozen=True)
class Article:
    """One outreach article in one language."""

    id: str
    topic: str
    title: str
    language: str
    version: str
    summary: str
    body: str
    quiz: tuple[Question, ...] = ()
    path: Path | None = None
    sources: tuple[Source, ...] = ()
    # When a reviewer last checked the text against its sources.
    reviewed: date | None = None
    # Passages about the time before the 2025 reform, copied from the text (content/place_words.py).
    historical: tuple[str, ...] = ()

    @property
    def html(self) -> str:
        """The body as Telegram HTML."""
        return to_html(self.body)

    @property
    def related(self) -> list[str]:
        """Ids of the articles this one links to, in order, once each."""
        seen: list[str] = []
        for _, target in links(self.body):
            if target.startswith(ARTICLE_LINK) and target[len(ARTICLE_LINK):] not in seen:
                seen.append(target[len(ARTICLE_LINK):])
        return seen


@dataclass(frozen=True)
class PledgeText:
    """A pledge text of one version in one language: the household's, or an organization's."""

    version: str
    language: str
    title: str
    body: str

    @property
    def html(self) -> str:
        """The pledge as Telegram HTML."""
        return to_html(self.body)


def read_document(path: Path) -> tuple[dict[str, Any], str]:
    """Split a Markdown file into its YAML front matter (between the first two lines that are
    "---") and its body; raises ValueError, or yaml.YAMLError when the front matter is no YAML."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError("the file must start with a front matter block between --- lines")
    end = next((number for number, line in enumerate(lines[1:], start=1) if line.strip() == "---"), None)
    if end is None:
        raise ValueError("the front matter block has no closing --- line")
    meta = yaml.safe_load("\n".join(lines[1:end]))
    if not isinstance(meta, dict):
        raise ValueError("the front matter must be a mapping of fields")
    return meta, "\n".join(lines[end + 1:]).strip()


def parse_article(path: Path) -> Article:
    """Read one article file; raises ValueError or KeyError on a malformed one."""
    meta, body = read_document(path)
    quiz = tuple(
        Question(
            text=str(item["question"]),
            options=tuple(str(option) for option in item["options"]),
            answer=int(item["answer"]) - 1,
            explain=str(item.get("explain", "")),
        )
        for item in meta.get("quiz") or []
    )
    return Article(
        id=str(meta["id"]),
        topic=str(meta["topic"]),
        title=str(meta["title"]),
        language=str(meta["language"]),
        version=str(meta["version"]),
        summary=str(meta.get("summary", "")),
        body=body,
        quiz=quiz,
        path=path,
        sources=parse_sources(meta.get("sources")),
        reviewed=parse_reviewed(meta.get("reviewed")),
        historical=tuple(str(item) for item in meta.get("historical") or ()
                         if isinstance(item, str)) if isinstance(meta.get("historical"), list) else (),
    )


def parse_pledge(path: Path) -> PledgeText:
    """Read one pledge file."""
    meta, body = read_document(path)
    return PledgeText(str(meta["version"]), str(meta["language"]), str(meta["title"]), body)


def default_root() -> Path:
    """The catalog shipped with the package."""
    return Path(str(files("content")))


@dataclass
class Catalog:
    """Articles and pledge texts by id/version and language."""

    articles: dict[tuple[str, str], Article] = field(default_factory=dict)
    pledges: dict[tuple[str, str], PledgeText] = field(default_factory=dict)
    organization_pledges: dict[tuple[str, str], PledgeText] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path | None = None) -> "Catalog":
        """Read every article and pledge under `root` (raises on a malformed file)."""
        root = root or default_root()
        catalog = cls()
        for path in sorted(root.glob("articles/*/*.md")):
            article = parse_article(path)
            catalog.articles[(article.id, article.language)] = article
        for path in sorted(root.glob("pledges/*/*.md")):
            pledge = parse_pledge(path)
            catalog.pledges[(pledge.version, pledge.language)] = pledge
        for path in sorted(root.glob(ORGANIZATION_PLEDGES)):
            pledge = parse_pledge(path)
            catalog.organization_pledges[(pledge.version, pledge.language)] = pledge
        return catalog

    def article(self, article_id: str, language: str) -> Article | None:
        """The article in `language`, else in Vietnamese, else None."""
        return self.articles.get((article_id, language)) or self.articles.get(
            (article_id, DEFAULT_LANGUAGE)
        )

    def topics(self) -> list[str]:
        """Topic codes in the order their first article appears (Vietnamese catalog order)."""
        ordered: list[str] = []
        for (_, language), article in self.articles.items():
            if language == DEFAULT_LANGUAGE and article.topic not in ordered:
                ordered.append(article.topic)
        return ordered

    def in_topic(self, topic: str, language: str) -> list[Article]:
        """The articles of a topic, in `language` where translated."""
        ids = [a.id for (_, lang), a in self.articles.items()
               if lang == DEFAULT_LANGUAGE and a.topic == topic]
        return [self.article(article_id, language) for article_id in ids]

    def pledge(self, version: str, language: str) -> PledgeText | None:
        """The pledge text of `version` in `language`, else in Vietnamese."""
        return self.pledges.get((version, language)) or self.pledges.get((version, DEFAULT_LANGUAGE))

    def organization_pledge(self, version: str, language: str) -> PledgeText | None:
        """An organization's registration text of `version` in `language`, else in Vietnamese."""
        return (self.organization_pledges.get((version, language))
                or self.organization_pledges.get((version, DEFAULT_LANGUAGE)))

    def missing_pledge_languages(self, version: str) -> list[str]:
        """The languages the pledge text of `version` lacks (all of them when it does not exist)."""
        return [language for language in LANGUAGES if (version, language) not in self.pledges]

    def newest_pledge_version(self) -> str | None:
        """The newest pledge version written in every language ("2026.10" after "2026.9"), the
        one a new campaign takes; None when there is none."""
        complete = {version for version, _ in self.pledges if not self.missing_pledge_languages(version)}
        return max(complete, key=version_key, default=None)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Orders versions part by part, numbers as numbers: 2026.1 < 2026.2 < 2026.10 < 2027.1."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"[.\-_]", version))
