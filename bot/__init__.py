"""Bình Yên's chat bot: app assembly, the command line, the channels, the middlewares, the
exactly-once machinery and the webhook server."""

import base  # noqa: F401 - first: aiogram imported with its models built on use
