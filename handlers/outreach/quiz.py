"""Quizzes under articles: one question at a time, the right answer and why, then the score."""

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.markdown import html_decoration as hd
from sqlalchemy.ext.asyncio import AsyncSession

from base.after_commit import AfterCommit
from base.clock import Clock
from base.formatting import today
from base.settings import Settings
from content.catalog import Article, Catalog
from db.models import Member
from db.services.joining import has_consented
from db.services.outreach import answer_question, quiz_attempt
from handlers.common.keyboards import keyboard
from handlers.outreach.learn import QuizAnswer, StartQuiz, not_counted

LETTERS = "ABCDEF"


async def ask(target: Message, article: Article, number: int) -> None:
    """Question `number` (0-based) with its options in the text and letters as buttons."""
    question = article.quiz[number]
    lines = [_("<b>Câu {number}/{total}.</b> {question}").format(
        number=number + 1, total=len(article.quiz), question=hd.quote(question.text))]
    lines += [f"{LETTERS[i]}. {hd.quote(option)}" for i, option in enumerate(question.options)]
    await target.answer("\n".join(lines), reply_markup=keyboard([
        (LETTERS[i], QuizAnswer(article=article.id, number=number, choice=i)) for i in range(len(question.options))
    ]))


async def start_quiz(
    callback: CallbackQuery, callback_data: StartQuiz, session: AsyncSession, member: Member | None, catalog: Catalog,
    i18n: I18n, clock: Clock, settings: Settings,
) -> None:
    """Begin (or resume) the quiz of an article."""
    await callback.answer()
    article = catalog.article(callback_data.article, i18n.current_locale)
    if article is None or not article.quiz:
        await callback.message.answer(_("Bài này không có câu hỏi. Gõ /learn để chọn bài khác."))
        return
    if not has_consented(member):
        await callback.message.answer(_(
            "Để làm câu hỏi và được ghi nhận cho hộ, bạn hãy tham gia ấp trước: /join."))
        return
    attempt = await quiz_attempt(session, member, article.id, article.version, len(article.quiz),
                                 today(clock, settings))
    if attempt.finished_at is not None:
        await callback.message.answer(_("Bạn đã làm bài này: đúng {score}/{total} câu.").format(
            score=attempt.score, total=attempt.total))
        return
    await ask(callback.message, article, len(attempt.answers))


async def answer(
    callback: CallbackQuery, callback_data: QuizAnswer, session: AsyncSession, member: Member | None, catalog: Catalog,
    i18n: I18n, clock: Clock, settings: Settings, after_commit: AfterCommit,
) -> None:
    """An answer button: say if it was right and why, then the next question or the score
    (once the answer is stored: the score may say the household counts as reached)."""
    await callback.answer()
    article = catalog.article(callback_data.article, i18n.current_locale)
    number, choice = callback_data.number, callback_data.choice
    if (article is None or not has_consented(member)
            or number >= len(article.quiz) or choice >= len(article.quiz[number].options)):
        await callback.message.answer(_("Câu hỏi này không còn dùng được. Gõ /learn để làm lại."))
        return
    question = article.quiz[number]
    attempt = await quiz_attempt(session, member, article.id, article.version, len(article.quiz),
                                 today(clock, settings))
    result = await answer_question(session, member, attempt, number, choice, question.answer,
                                   today(clock, settings))
    if result is None:
        await callback.message.answer(_("Bạn đã trả lời câu này rồi."))
        if attempt.finished_at is None:
            await ask(callback.message, article, len(attempt.answers))  # where they really are
        return
    right = f"{LETTERS[question.answer]}. {hd.quote(question.options[question.answer])}"
    verdict = _("✅ Đúng rồi!") if result.correct else _("❌ Chưa đúng. Đáp án đúng: {right}").format(right=right)
    after_commit.call(callback.message.answer, f"{verdict}\n{hd.quote(question.explain)}".strip())
    if not result.finished:
        after_commit.call(ask, callback.message, article, number + 1)
    elif result.passed and result.reach.counts:
        after_commit.call(callback.message.answer, _(
            "Kết quả: đúng {score}/{total} câu. Bạn đã nắm được bài, hộ của bạn được ghi nhận "
            "đã được tuyên truyền."
        ).format(score=result.attempt.score, total=result.attempt.total))
    elif result.passed:
        after_commit.call(callback.message.answer, _("Kết quả: đúng {score}/{total} câu. Bạn đã nắm được bài!").format(
            score=result.attempt.score, total=result.attempt.total) + "\n" + not_counted(member))
    else:
        after_commit.call(callback.message.answer, _(
            "Kết quả: đúng {score}/{total} câu. Bạn đọc lại bài để nắm rõ hơn nhé."
        ).format(score=result.attempt.score, total=result.attempt.total))


def router() -> Router:
    """The quiz router."""
    router = Router(name="quiz")
    router.callback_query.register(start_quiz, StartQuiz.filter())
    router.callback_query.register(answer, QuizAnswer.filter())
    return router
