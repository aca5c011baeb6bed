"""aiogram's Bot API models, each built the first time it is used instead of all at import.

aiogram 3 declares its Bot API types with pydantic's `defer_build`, then, at import, calls
`model_rebuild()` on every one of them, which builds each validator and serializer at once,
each with its own copy of every type it nests: 165 MB and 2 s before the bot reads an
update, for the twenty-odd types it ever meets. While aiogram is imported here, that call
keeps the namespace it was given (the names the models' forward references need) instead
of building; pydantic builds a model from it the first time one is validated or dumped.

`base/__init__.py` calls `defer_aiogram_models()`, so that importing any part of the bot
(bot, handlers and the CLI import `base` first) imports aiogram this way; if aiogram was imported before,
it changes nothing and aiogram works as it always does.
"""

import sys
from typing import Any

from pydantic import BaseModel


def defer_aiogram_models() -> None:
    """Import aiogram with its models' validators left to be built on first use."""
    if "aiogram" in sys.modules:
        return
    eager = BaseModel.__dict__["model_rebuild"]
    names: dict[str, Any] = {}

    def keep_names(cls, *, force=False, raise_errors=True, _parent_namespace_depth=2,
                   _types_namespace=None):
        if (_types_namespace is not None and not force and not cls.__pydantic_complete__
                and cls.__module__.startswith("aiogram.")):
            names.update(_types_namespace)
            return None
        return eager.__func__(cls, force=force, raise_errors=raise_errors,
                              _parent_namespace_depth=_parent_namespace_depth + 1,
                              _types_namespace=_types_namespace)

    BaseModel.model_rebuild = classmethod(keep_names)
    try:
        import aiogram  # noqa: F401 - imports aiogram.types and aiogram.methods
    finally:
        BaseModel.model_rebuild = eager
    for model in _aiogram_models():  # complete ones too: Response[Message] inherits Response's
        model.__pydantic_parent_namespace__ = {**names, **(model.__pydantic_parent_namespace__ or {})}


def _aiogram_models() -> list[type[BaseModel]]:
    """Every pydantic model aiogram defines."""
    found, todo = [], [BaseModel]
    while todo:
        for subclass in todo.pop().__subclasses__():
            todo.append(subclass)
            if subclass.__module__.startswith("aiogram."):
                found.append(subclass)
    return found
