"""Keeps aiogram's synchronous filters on the event loop.

aiogram runs a synchronous filter (a magic filter such as `F.data.startswith("learn:")`, or a
lambda) in a worker thread, one thread hop per filter per router an update passes. With a
few dozen such filters that hop was the largest cost of an update (bench/updates.py). The
filters are tiny pure checks, so they are made coroutines that run inline instead.
"""

import functools
from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import CallableObject


def _inline(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    async def check(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return check


def _make_inline(callable_object: CallableObject) -> None:
    if not callable_object.awaitable:
        # The parameters the filter accepts were read from the original; keep them.
        callable_object.callback = _inline(callable_object.callback)
        callable_object.awaitable = True


def inline_sync_filters(router: Router) -> int:
    """Make every synchronous filter of `router` and its sub-routers run inline; returns how
    many were changed."""
    changed = 0
    for observer in router.observers.values():
        handlers = [*observer.handlers, observer._handler]  # _handler holds observer.filter()s
        for handler in handlers:
            for filter_object in handler.filters or []:
                changed += not filter_object.awaitable
                _make_inline(filter_object)
    for sub_router in router.sub_routers:
        changed += inline_sync_filters(sub_router)
    return changed
