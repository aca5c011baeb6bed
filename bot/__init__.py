"""Bình Yên: settings, app assembly, CLI, channels, middlewares and the webhook server."""
