"""Settings read from BINHYEN_* environment variables, checked once at start."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.services.recognition import parse_approver
from db.services.schedule_times import QuietHours
from db.services.tip_sealing import public_key_from_text

# The Zalo Bot API (bot.zaloplatforms.com/docs).
ZALO_API_BASE = "https://bot-api.zaloplatforms.com"


ENV_PREFIX = "BINHYEN_"
LOCALES = ("vi", "en")
_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Zalo Bot Platform tokens are "{bot_id}:{access_token}"; webhook secrets 8-256 characters.
_ZALO_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{16,}$")
_ZALO_SECRET = re.compile(r"^[A-Za-z0-9_-]{8,256}$")
# `binhyen tips keygen --out .demo-keys` (run by `make run`) writes the demo's tip keys here;
# real variables win over it, and without the file nothing is read.
DEMO_TIP_ENV = Path(".demo-keys/tip.env")


class SettingsError(Exception):
    """A setting has a wrong value; the message names the variable."""


class ServiceUnreachable(Exception):
    """The server a setting points at does not answer at start; `reason` is the error's text."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable, self.reason = variable, reason


class TokenRefused(ServiceUnreachable):
    """The service answers but does not accept the token a setting holds."""


class Settings(BaseSettings):
    """Every knob of a deployment; one instance is built at start and injected."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, env_file=DEMO_TIP_ENV
    )

    database_url: str = "sqlite+aiosqlite:///./binhyen.db"
    telegram_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_bot_username: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8080"
    web_listen: str = "127.0.0.1:8080"
    web_url: str | None = None
    redis_url: str | None = None
    zalo_token: SecretStr | None = None
    zalo_api_base: str = ZALO_API_BASE
    zalo_webhook_url: str | None = None
    zalo_webhook_secret: SecretStr | None = None
    default_locale: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    log_level: str = "INFO"
    tip_public_key: str | None = None
    tip_secret: SecretStr | None = None
    tip_private_key_file: Path | None = None
    tip_limit_per_sender_day: int = Field(5, ge=1)
    tip_limit_per_hour: int = Field(1000, ge=1)
    tip_wrong_codes_per_hour: int = Field(100, ge=1)
    telegram_rate: float = 25.0
    zalo_rate: float = 10.0
    quiet_hours: str = "21:00-06:00"
    schedule_stale_hours: float = 12.0
    # Who decides a commune's recognition "An toàn về ANTT": ROLE:LEVEL (the role, at that level
    # or above). The 2025 reform left it unclear; a province-level admin by default.
    commune_approver: str = "admin:province"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @field_validator("telegram_token", mode="before")
    @classmethod
    def _telegram_token(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not isinstance(value, str) or not _TOKEN.match(value):
            raise ValueError("is not a Telegram bot token (digits:secret, from @BotFather)")
        return value

    @field_validator("telegram_api_base", mode="before")
    @classmethod
    def _api_base(cls, value: object) -> object:
        return cls._http_url(value or "https://api.telegram.org")

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if not value:
            return None
        if not str(value).startswith("https://"):
            raise ValueError("must be an https:// URL (Telegram posts to HTTPS only)")
        return cls._http_url(value)

    @staticmethod
    def _http_url(value: object) -> str:
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return str(value).rstrip("/")

    @field_validator("telegram_bot_username", mode="before")
    @classmethod
    def _bot_username(cls, value: object) -> object:
        if value in ("", None):
            return None
        name = str(value).lstrip("@")
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]{3,31}$", name):
            raise ValueError("is not a Telegram bot username (letters, digits, _)")
        return name

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not isinstance(value, str) or not _SECRET.match(value):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("zalo_token", mode="before")
    @classmethod
    def _zalo_token(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not isinstance(value, str) or not _ZALO_TOKEN.match(value):
            raise ValueError("is not a Zalo bot token (digits:secret, from Zalo Bot Creator)")
        return value

    @field_validator("zalo_api_base", mode="before")
    @classmethod
    def _zalo_api_base(cls, value: object) -> object:
        return cls._http_url(value or ZALO_API_BASE)

    @field_validator("zalo_webhook_url", mode="before")
    @classmethod
    def _zalo_webhook_url(cls, value: object) -> object:
        if not value:
            return None
        if not str(value).startswith("https://"):
            raise ValueError("must be an https:// URL (Zalo posts to HTTPS only)")
        return cls._http_url(value)

    @field_validator("zalo_webhook_secret", mode="before")
    @classmethod
    def _zalo_webhook_secret(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not isinstance(value, str) or not _ZALO_SECRET.match(value):
            raise ValueError("must be 8-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("web_url", mode="before")
    @classmethod
    def _web_url(cls, value: object) -> object:
        if not value:
            return None
        url = cls._http_url(value)
        if urlsplit(url).path in ("", "/"):
            raise ValueError("needs a path for the desk, for example https://binhyen.example.org/desk")
        if urlsplit(url).query or urlsplit(url).fragment:
            raise ValueError("must be a plain base URL, without ? or #")
        return url

    @field_validator("webhook_listen", "web_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, for example 0.0.0.0:8080")
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not str(value).startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("default_locale")
    @classmethod
    def _default_locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a known time zone (for example Asia/Ho_Chi_Minh)") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("tip_public_key", mode="before")
    @classmethod
    def _tip_public_key(cls, value: object) -> object:
        if value in ("", None):
            return None
        public_key_from_text(str(value))  # raises ValueError with the reason
        return str(value).strip()

    @field_validator("tip_secret", mode="before")
    @classmethod
    def _tip_secret(cls, value: object) -> object:
        if value in ("", None):
            return None
        if len(str(value)) < 32:
            raise ValueError("must be at least 32 characters (binhyen tips keygen makes one)")
        return value

    @field_validator("tip_private_key_file", mode="before")
    @classmethod
    def _tip_private_key_file(cls, value: object) -> object:
        return value or None

    @model_validator(mode="after")
    def _tip_key_needs_secret(self) -> Settings:
        if self.tip_public_key and not self.tip_secret:
            raise ValueError(
                "BINHYEN_TIP_PUBLIC_KEY is set but BINHYEN_TIP_SECRET is not: "
                "receipt codes are looked up by a hash under that secret"
            )
        return self
    @field_validator("telegram_rate", "zalo_rate")
    @classmethod
    def _rate(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError("must be a number of messages per second above 0 (Telegram allows about 30)")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value)
        return value.strip()

    @field_validator("commune_approver")
    @classmethod
    def _commune_approver(cls, value: str) -> str:
        parse_approver(value)  # raises ValueError with the form
        return value.strip().lower()

    @field_validator("schedule_stale_hours")
    @classmethod
    def _stale_hours(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be 0 or more hours")
        return value

    @model_validator(mode="after")
    def _webhook_needs_token_and_secret(self) -> Settings:
        if self.webhook_url and not self.telegram_token:
            raise ValueError("BINHYEN_WEBHOOK_URL is set but BINHYEN_TELEGRAM_TOKEN is not")
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(
                "BINHYEN_WEBHOOK_URL is set but BINHYEN_WEBHOOK_SECRET is not: "
                "Telegram must prove each update with the secret token"
            )
        if self.zalo_webhook_url and not self.zalo_token:
            raise ValueError("BINHYEN_ZALO_WEBHOOK_URL is set but BINHYEN_ZALO_TOKEN is not")
        if self.zalo_webhook_url and not self.zalo_webhook_secret:
            raise ValueError(
                "BINHYEN_ZALO_WEBHOOK_URL is set but BINHYEN_ZALO_WEBHOOK_SECRET is not: "
                "Zalo must prove each update with the secret token"
            )
        if self.webhook_url and self.zalo_webhook_url and self.webhook_path == self.zalo_webhook_path:
            raise ValueError(
                "BINHYEN_WEBHOOK_URL and BINHYEN_ZALO_WEBHOOK_URL must have different paths"
            )
        for name, url, path in (("BINHYEN_WEBHOOK_URL", self.webhook_url, self.webhook_path),
                                ("BINHYEN_ZALO_WEBHOOK_URL", self.zalo_webhook_url, self.zalo_webhook_path)):
            if url and self.web_listen == self.webhook_listen and (
                    path == self.web_path or path.startswith(self.web_path + "/")):
                raise ValueError(f"{name} must not lie under the desk's path {self.web_path} "
                                 "(BINHYEN_WEB_URL)")
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The deployment's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def approver(self) -> tuple[str, str]:
        """BINHYEN_COMMUNE_APPROVER as (role, level)."""
        return parse_approver(self.commune_approver)

    @property
    def quiet(self) -> QuietHours | None:
        """BINHYEN_QUIET_HOURS parsed; None when switched off."""
        return QuietHours.parse(self.quiet_hours)

    @property
    def webhook_path(self) -> str:
        """The path the webhook server answers on: the path of BINHYEN_WEBHOOK_URL."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def zalo_webhook_path(self) -> str:
        """The path the Zalo webhook answers on: the path of BINHYEN_ZALO_WEBHOOK_URL."""
        return urlsplit(self.zalo_webhook_url or "").path or "/"

    @property
    def web_base_url(self) -> str:
        """The desk's public base URL: BINHYEN_WEB_URL, else http://BINHYEN_WEB_LISTEN/desk."""
        return self.web_url or f"http://{self.web_listen}/desk"

    @property
    def web_path(self) -> str:
        """The path the desk is mounted at (the path of its base URL), e.g. /desk."""
        return urlsplit(self.web_base_url).path.rstrip("/")

    @property
    def web_host_port(self) -> tuple[str, int]:
        """BINHYEN_WEB_LISTEN split into host and port."""
        host, _, port = self.web_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def listen_host_port(self) -> tuple[str, int]:
        """BINHYEN_WEBHOOK_LISTEN split into host and port."""
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, raising SettingsError that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"])
            name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{name} {message}" if field else message)
        raise SettingsError("; ".join(lines)) from None
