"""The PostgreSQL and Redis the tests may use: required in CI, skipped with a reason elsewhere."""

import os

import pytest

POSTGRES_URL = os.environ.get("BINHYEN_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("BINHYEN_TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Fail in CI (the services must be there), skip on a developer machine."""
    if IN_CI:
        pytest.fail(f"CI needs this service: {reason}")
    pytest.skip(reason)


def postgres_url() -> str:
    """BINHYEN_TEST_POSTGRES_URL, or skip/fail."""
    if not POSTGRES_URL:
        unavailable("BINHYEN_TEST_POSTGRES_URL is not set")
    return POSTGRES_URL


def redis_url() -> str:
    """BINHYEN_TEST_REDIS_URL, or skip/fail."""
    if not REDIS_URL:
        unavailable("BINHYEN_TEST_REDIS_URL is not set")
    return REDIS_URL
