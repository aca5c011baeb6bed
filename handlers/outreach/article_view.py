"""An article as its reader sees it: the body with the campaign's targets filled in, and its sources."""

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.markdown import html_decoration as hd

from base.labels import TARGET_LABELS
from content.catalog import Article
from content.placeholders import TARGETS
from content.sources import Source
from db.models import Campaign


def targets_html(campaign: Campaign | None) -> str:
    """The targets of the campaign running where the reader lives, in the labels' order; a
    neutral sentence when none runs or it sets none we can name."""
    targets = campaign.targets if campaign is not None else {}
    lines = [f"• {hd.quote(str(label).format(value=format(targets[key], 'g')))}"
             for key, label in TARGET_LABELS.items() if isinstance(targets.get(key), (int, float))]
    if not lines:
        return hd.quote(_("Chỉ tiêu cụ thể do Ban Chỉ đạo 138 của tỉnh đề ra trong kế hoạch thi đua hằng "
                          "năm. Hỏi trưởng ấp, khóm, thôn, tổ dân phố hoặc Công an xã, phường để biết chỉ "
                          "tiêu năm nay của địa phương mình."))
    heading = _("Chỉ tiêu thi đua năm {year} của {area}:").format(year=campaign.year, area=campaign.area.name)
    return "\n".join([f"<b>{hd.quote(heading)}</b>", *lines])


def fill(article: Article, campaign: Campaign | None) -> str:
    """The body as Telegram HTML with its placeholders filled (content/placeholders.py)."""
    text = article.html
    return text.replace(TARGETS, targets_html(campaign)) if TARGETS in text else text


def source_line(source: Source) -> str:
    """One source: its title (a link when it has one), number and articles."""
    title = hd.quote(source.title)
    parts = [f'<a href="{hd.quote(source.url)}">{title}</a>' if source.url else title]
    if source.number:
        parts.append(hd.quote(_("số {number}").format(number=source.number)))
    if source.articles:
        parts.append(hd.quote(ngettext("Điều {numbers}", "Điều {numbers}", len(source.articles)).format(
            numbers=", ".join(str(number) for number in source.articles))))
    return "• " + ", ".join(parts)


def sources_html(article: Article) -> str:
    """The "Nguồn" block at the end of the article; empty when it cites none."""
    if not article.sources:
        return ""
    heading = _("Nguồn")
    return "\n".join([f"<b>{hd.quote(heading)}</b>", *(source_line(source) for source in article.sources)])
