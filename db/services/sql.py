"""Small SQL helpers that must behave the same on SQLite and PostgreSQL."""

from functools import cache
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


@cache
def _insert_or_nothing(dialect: str, model: type, conflict: tuple[str, ...], returning: bool) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, built once per table: the hot paths (every update's
    ledger row, a pledge) pass their values as parameters instead of building a statement
    each time, which costs more than running it."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    if returning:
        return insert(model).on_conflict_do_nothing(index_elements=list(conflict)).returning(model)
    # The plain table, not the mapped class: a Core insert reports its rowcount.
    return insert(model.__table__).on_conflict_do_nothing(index_elements=list(conflict))


def _statement(session: AsyncSession, model: type, conflict: list[str], returning: bool) -> Any:
    return _insert_or_nothing(session.get_bind().dialect.name, model, tuple(conflict), returning)


async def insert_ignore(
    session: AsyncSession, model: type, values: dict[str, Any], conflict: list[str]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted.

    On PostgreSQL a concurrent insert of the same key waits for the other transaction and
    then inserts nothing, so exactly one of two racing requests wins, without an error.
    """
    result = await session.execute(_statement(session, model, conflict, False), values)
    return result.rowcount == 1


async def insert_returning(
    session: AsyncSession, model: type, values: dict[str, Any], conflict: list[str]
) -> Any | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the row: the new object (in the session), or
    None when a row with that key exists. One statement, and the same race guarantee as
    insert_ignore."""
    result = await session.scalars(_statement(session, model, conflict, True), [values])
    return result.first()


async def upsert(
    session: AsyncSession, model: type, values: dict[str, Any], conflict: list[str], changed: list[str],
    increment: str | None = None,
) -> None:
    """INSERT … ON CONFLICT DO UPDATE the `changed` columns to the new values (and add the new
    value of `increment` to the stored one)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = model.__table__
    statement = insert(table).values(**values)
    updates = {name: statement.excluded[name] for name in changed}
    if increment is not None:
        updates[increment] = table.c[increment] + statement.excluded[increment]
    await session.execute(statement.on_conflict_do_update(index_elements=conflict, set_=updates))
