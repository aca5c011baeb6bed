"""Bình Yên: settings, app assembly, CLI, channels, middlewares and the webhook server."""

from bot.aiogram_models import defer_aiogram_models

defer_aiogram_models()
