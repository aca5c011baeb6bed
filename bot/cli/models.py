"""`binhyen models …`: self-management models imported from CSV, and the catalog of their types."""

import argparse

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from base.settings import Settings
from db.services.areas import require_area
from db.services.movement_import import import_models
from db.services.self_management import add_model_type, model_types


async def _transaction(settings: Settings, work, read_only: bool = False) -> int:
    from bot.cli.main import _in_transaction  # bot.cli.main imports this module first

    return await _in_transaction(settings, work, read_only)


async def cmd_types(args: argparse.Namespace, settings: Settings) -> int:
    """Print the types of model a unit may choose: the seeded ones, and a province's own."""
    async def work(session: AsyncSession) -> int:
        area = await require_area(session, args.area) if args.area else None
        for model_type in await model_types(session, area):
            print(f"{model_type.code}\t{model_type.name_vi}\t{model_type.name_en}")
        return 0

    return await _transaction(settings, work, read_only=True)


async def cmd_type_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add a province's own type of model."""
    async def work(session: AsyncSession) -> int:
        province = await require_area(session, args.area)
        model_type = await add_model_type(session, province, args.code, args.vi, args.en)
        print(_("Đã thêm loại mô hình {code} cho {area}.").format(code=model_type.code, area=province.name))
        return 0

    return await _transaction(settings, work)


def add_models_commands(commands: argparse._SubParsersAction) -> None:
    """Register `models` on the top-level parser."""
    from bot.cli.main import _import

    group = commands.add_parser("models", help="self-management models").add_subparsers(
        dest="models_command", required=True, metavar="ACTION")
    importer = group.add_parser("import", help="import models from a UTF-8 CSV file (all rows or none)")
    importer.add_argument("file")
    importer.set_defaults(handler=_import("models", import_models))
    types = group.add_parser("types", help="the types of model (codes for the CSV file)")
    types.add_argument("--area", help="an area: also its province's own types")
    types.set_defaults(handler=cmd_types)
    add = group.add_parser("type-add", help="add a province's own type of model")
    add.add_argument("--area", required=True, help="the province's code")
    add.add_argument("--code", required=True, help="lower-case letters, digits and -")
    add.add_argument("--vi", required=True, help="the name in Vietnamese")
    add.add_argument("--en", required=True, help="the name in English")
    add.set_defaults(handler=cmd_type_add)
