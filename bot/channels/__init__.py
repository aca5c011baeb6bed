"""Channels: Telegram natively, and text-only transports (console, Zalo) speaking the same dialect."""
