"""How the dispatcher is put together: no filter runs in a worker thread."""

from aiogram import F, Router

from bot.filters import inline_sync_filters


async def test_every_filter_of_the_bot_runs_on_the_event_loop(app):
    # build_app made them inline already: none is left to change.
    assert inline_sync_filters(app.dispatcher) == 0


async def test_a_magic_filter_is_made_a_coroutine_that_still_filters():
    router = Router()
    seen = []

    async def handler(message) -> None:
        seen.append(message)

    router.message.register(handler, F.text.startswith("/x"))
    router.message.filter(lambda message: message.chat_type == "private")
    assert inline_sync_filters(router) == 2
    [handler_object] = router.message.handlers
    [magic] = handler_object.filters
    assert magic.awaitable

    class Event:
        text, chat_type = "/x now", "private"

    assert await magic.call(Event()) is True
    Event.text = "hello"
    assert not await magic.call(Event())
