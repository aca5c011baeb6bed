"""The base every interface shares and that imports none: settings, clock, interface text,
the shared vocabulary (labels, the command table) and the report builders."""

from base.aiogram_models import defer_aiogram_models

# First, before anything imports aiogram: its Bot API models are built on first use.
defer_aiogram_models()
