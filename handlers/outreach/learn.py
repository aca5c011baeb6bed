"""/learn: browse outreach topics, read an article, mark it read ("Đã đọc") to count the reach."""

from dataclasses import dataclass
from typing import Literal

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.commands import COMMANDS
from base.formatting import echo, short, today
from base.settings import Settings
from content.catalog import Article, Catalog
from content.placeholders import TARGETS
from db.models import Member
from db.services.campaigns import campaign_of_member
from db.services.joining import has_consented
from db.services.outreach import record_reading
from db.text import split_text
from handlers.common.callbacks import Slug, Small, Version
from handlers.common.keyboards import keyboard
from handlers.movement.models import ModelMine
from handlers.outreach.article_view import fill, sources_html


class TopicChoice(CallbackData, prefix="learn"):
    """A topic's articles."""

    action: Literal["t"] = "t"
    topic: Slug


class ArticleChoice(CallbackData, prefix="learn"):
    """An article to read."""

    action: Literal["a"] = "a"
    article: Slug


class Topics(CallbackData, prefix="learn"):
    """Back to the topics."""

    action: Literal["topics"] = "topics"


class MarkRead(CallbackData, prefix="learn"):
    """Đã đọc: this version of the article was read."""

    action: Literal["r"] = "r"
    article: Slug
    version: Version


class StartQuiz(CallbackData, prefix="quiz"):
    """Begin (or resume) an article's quiz."""

    action: Literal["s"] = "s"
    article: Slug


class QuizAnswer(CallbackData, prefix="quiz"):
    """An answer to question `number` of an article's quiz."""

    action: Literal["a"] = "a"
    article: Slug
    number: Small
    choice: Small


# Telegram allows 4,096 characters a message; keep room for the title line.
MESSAGE_LIMIT = 3900

TOPIC_LABELS = {
    "movement": __("Phong trào toàn dân bảo vệ an ninh Tổ quốc"),
    "reporting": __("Tố giác tội phạm"),
    "fraud": __("Lừa đảo qua mạng, điện thoại"),
    "drugs": __("Ma túy"),
    "gambling": __("Cờ bạc, tín dụng đen, tệ nạn"),
    "theft": __("Phòng chống trộm cắp"),
    "child_abuse": __("Bảo vệ trẻ em"),
    "domestic_violence": __("Bạo lực gia đình"),
    "trafficking": __("Mua bán người"),
    "traffic": __("An toàn giao thông"),
    "fire": __("Phòng cháy, chữa cháy"),
    "self_management": __("Mô hình tự quản"),
}


def topic_label(topic: str) -> str:
    """A topic's name in the user's language."""
    return str(TOPIC_LABELS.get(topic, topic))


def ordered_topics(catalog: Catalog) -> list[str]:
    """The catalog's topics in the order of TOPIC_LABELS, then any others."""
    present = set(catalog.topics())
    topics = [topic for topic in TOPIC_LABELS if topic in present]
    return topics + [topic for topic in catalog.topics() if topic not in TOPIC_LABELS]


@dataclass(frozen=True)
class Reader:
    """Who opens an article, to fill its placeholders: the campaign is looked up only for an
    article that shows it (content/placeholders.py)."""

    session: AsyncSession
    member: Member | None
    clock: Clock
    settings: Settings

    async def body(self, article: Article) -> str:
        """The article's body as this reader sees it."""
        if TARGETS not in article.body:
            return article.html
        return fill(article, await campaign_of_member(self.session, self.member, today(self.clock, self.settings)))


async def show_topics(target: Message, catalog: Catalog) -> None:
    """The topics as buttons, in the order of TOPIC_LABELS."""
    topics = ordered_topics(catalog)
    await target.answer(_("<b>Tin tuyên truyền</b> — chọn một chủ đề:"), reply_markup=keyboard(
        *[[(topic_label(topic), TopicChoice(topic=topic))] for topic in topics],
        [(_("🛡 Mô hình tự quản ở ấp của bạn"), ModelMine())],
    ))


async def learn(message: Message, command: CommandObject, catalog: Catalog, i18n: I18n, session: AsyncSession,
                member: Member | None, clock: Clock, settings: Settings) -> None:
    """/learn: the topics; /learn ID opens that article (a broadcast of an article says so)."""
    article_id = (command.args or "").strip().lower()
    if article_id:
        article = catalog.article(article_id, i18n.current_locale)
        if article is not None:
            await send_article(message, article, catalog, i18n, Reader(session, member, clock, settings))
            return
        await message.answer(_("Không có bài “{id}”. Chọn một chủ đề bên dưới.").format(
            id=echo(article_id)))
    await show_topics(message, catalog)


async def open_topic(callback: CallbackQuery, callback_data: TopicChoice, catalog: Catalog, i18n: I18n, session: AsyncSession,
                     member: Member | None, clock: Clock, settings: Settings) -> None:
    """A topic button: its articles, or the article itself when there is one."""
    await callback.answer()
    topic = callback_data.topic
    articles = catalog.in_topic(topic, i18n.current_locale)
    if not articles:
        await show_topics(callback.message, catalog)
    elif len(articles) == 1:
        await send_article(callback.message, articles[0], catalog, i18n, Reader(session, member, clock, settings))
    else:
        await callback.message.answer(topic_label(topic), reply_markup=keyboard(
            *[[(short(article.title), ArticleChoice(article=article.id))] for article in articles]
        ))


async def open_article(callback: CallbackQuery, callback_data: ArticleChoice, catalog: Catalog, i18n: I18n, session: AsyncSession,
                       member: Member | None, clock: Clock, settings: Settings) -> None:
    """An article button."""
    await callback.answer()
    article = catalog.article(callback_data.article, i18n.current_locale)
    if article is None:
        await callback.message.answer(_("Bài này không còn nữa. Gõ /learn để chọn bài khác."))
        return
    await send_article(callback.message, article, catalog, i18n, Reader(session, member, clock, settings))


async def send_article(target: Message, article: Article, catalog: Catalog, i18n: I18n, reader: Reader) -> None:
    """The article in as many messages as it needs, its sources at the end; the buttons go under
    the last one."""
    text = f"<b>{hd.quote(article.title)}</b>\n\n{await reader.body(article)}"
    if article.sources:
        text += "\n\n" + sources_html(article)
    pieces = split_text(text, MESSAGE_LIMIT)
    rows = [[(_("✅ Đã đọc"), MarkRead(article=article.id, version=article.version))]]
    if article.quiz:
        rows.append([(_("📝 Trả lời {count} câu hỏi").format(count=len(article.quiz)),
                      StartQuiz(article=article.id))])
    for related_id in article.related[:3]:
        related = catalog.article(related_id, i18n.current_locale)
        if related is not None:
            rows.append([(short("📖 " + related.title), ArticleChoice(article=related.id))])
    rows.append([(_("⬅ Các chủ đề"), Topics())])
    for piece in pieces[:-1]:
        await target.answer(piece)
    await target.answer(pieces[-1], reply_markup=keyboard(*rows))


async def back_to_topics(callback: CallbackQuery, catalog: Catalog) -> None:
    """⬅ Các chủ đề."""
    await callback.answer()
    await show_topics(callback.message, catalog)


async def mark_read(
    callback: CallbackQuery, callback_data: MarkRead, session: AsyncSession, member: Member | None,
    catalog: Catalog, clock: Clock, settings: Settings, after_commit: AfterCommit,
) -> None:
    """Đã đọc: count the household as reached (once per article version)."""
    await callback.answer()
    article_id, version = callback_data.article, callback_data.version
    article = catalog.article(article_id, "vi")
    if article is None or article.version != version:
        # A button under an old version of the article, or one nobody offered.
        await callback.message.answer(_("Bài này đã được cập nhật. Gõ /learn để mở bản mới."))
        return
    if not has_consented(member):
        await callback.message.answer(_(
            "Cảm ơn bạn đã đọc! Để Bình Yên ghi nhận cho hộ của bạn, hãy tham gia ấp: /join."))
        return
    reach, new = await record_reading(session, member, article_id, version, today(clock, settings))
    if not reach.counts:
        text = _("Cảm ơn bạn đã đọc!") + " " + not_counted(member)
    elif not new:
        text = _("Bạn đã đánh dấu đọc bài này rồi. Cảm ơn bạn!")
    else:
        text = _("✅ Đã ghi nhận: hộ {head} đã được tuyên truyền bài này. Cảm ơn bạn!").format(
            head=hd.quote(reach.household.head_name))
    # What to do next, as buttons: on text-only channels a message without them would end the menu.
    rows = [[(_("✅ Đã đọc"), MarkRead(article=article.id, version=article.version))] if not reach.counts else [],
            [(_("📝 Trả lời {count} câu hỏi").format(count=len(article.quiz)), StartQuiz(article=article.id))]
            if article.quiz else [], [(_("⬅ Các chủ đề"), Topics())]]
    after_commit.call(callback.message.answer, text, reply_markup=keyboard(*rows))


def not_counted(member: Member) -> str:
    """Why a reading (or a passed quiz) does not count for a household yet, and what to do."""
    household = member.household
    if household is None:
        return _("Bạn chưa ở trong hộ nào nên chưa tính cho hộ: gõ /join để chọn hộ, rồi bấm "
                 "“Đã đọc” lại.")
    if household.status == "pending":
        return _("Hộ của bạn đang chờ trưởng ấp duyệt nên chưa tính cho hộ. Khi được duyệt, "
                 "bạn bấm “Đã đọc” lại.")
    return _("Chưa có đợt thi đua nào đang mở cho ấp của bạn nên chưa tính cho hộ.")


def router() -> Router:
    """The /learn router."""
    router = Router(name="learn")
    router.message.register(learn, Command("learn"), flags=COMMANDS["learn"].flags)
    router.callback_query.register(open_topic, TopicChoice.filter())
    router.callback_query.register(open_article, ArticleChoice.filter())
    router.callback_query.register(back_to_topics, Topics.filter())
    router.callback_query.register(mark_read, MarkRead.filter())
    return router
