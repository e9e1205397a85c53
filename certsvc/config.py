"""Configuration: one TOML file parsed into frozen, typed settings.

Every key has a default (documented in ``config.example.toml``), so a file that sets
only ``[ca]`` keeps everything else. Unknown keys are refused: a typo must not silently
fall back to a default. With no file at all, everything lives under the data directory
``$CERTSVC_HOME`` (default ``./.certsvc``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from certsvc.errors import ConfigError

CONFIG_ENV = "CERTSVC_CONFIG"
HOME_ENV = "CERTSVC_HOME"
MAIL_PASSWORD_ENV = "CERTSVC_MAIL_PASSWORD"


class Section(BaseModel):
    """Base of every section: frozen, and unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Section):
    url: str = ""  # empty: sqlite:///<home>/certsvc.db


class BusinessSettings(Section):
    timezone: str = "Asia/Tokyo"
    holiday_country: str = "JP"  # public holidays (``holidays`` package); "": none
    closed_dates: tuple[date, ...] = ()  # extra days the helpdesk is closed

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class CertificateSettings(Section):
    validity_years: int = Field(default=2, ge=1, le=5)
    server_key_algorithm: Literal["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072"] = "ecdsa-p256"
    url_base: str = ""  # origin of the URLs in certificates; empty: the public address
    crl_url: str = ""  # empty: <url_base>/crl/<issuing CA>.crl
    ocsp_url: str = ""  # empty: <public address>/ocsp
    country: str = ""  # C= in the subject when set


class KeyPolicySettings(Section):
    rsa_min_bits: int = Field(default=2048, ge=2048)
    ec_curves: tuple[Literal["P-256", "P-384"], ...] = ("P-256", "P-384")
    allow_ed25519: bool = True


class ReissueSettings(Section):
    revoke_old: Literal["now", "on-pickup"] = "now"
    on_pickup_grace_days: int = Field(default=14, ge=0, le=365)
    # a user change: the old person's revocation notice goes to the old address, or nowhere
    notify_previous_holder: Literal["old-address", "none"] = "old-address"


class CRLSettings(Section):
    validity_hours: int = Field(default=168, ge=1)
    refresh_before_hours: int = Field(default=96, ge=1)
    backdate_seconds: int = Field(default=300, ge=0)
    root_crl_warn_days: int = Field(default=30, ge=1)


class CASettings(Section):
    """``[ca] adapter`` and every ``[ca.<name>]`` table, kept raw in ``tables``.

    certsvc does not know an adapter's keys (a third party's least of all): the registry
    validates the adapter's table with the adapter's own options model when it builds
    it, and a bad key there names the adapter and the key. A key of ``[ca]`` that is
    neither ``adapter`` nor a table is still refused here.
    """

    adapter: str = "local"
    tables: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_tables(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        tables = {k: v for k, v in data.items() if k != "adapter" and isinstance(v, dict)}
        rest = {k: v for k, v in data.items() if k not in tables and k != "tables"}
        return {**rest, "tables": tables}

    def options(self, name: str) -> Mapping[str, Any]:
        """The raw ``[ca.<name>]`` table; empty when the file has none (all defaults)."""
        return self.tables.get(name, {})


class CRLMirrorSettings(Section):
    """Mirroring the CRLs of an external CA (adapters whose revocation source is a mirror)."""

    refresh_minutes: int = Field(default=60, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_bytes: int = Field(default=50_000_000, ge=1024)


class LoggingSettings(Section):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OCCURRENCES = ("first", "second", "third", "fourth", "last")
_CLOCK_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class MaintenanceSettings(Section):
    """The monthly maintenance window: ``occurrence`` ``weekday`` of each month, business time.

    The window opens at ``start`` on that day and closes at ``end``, on the next day when
    ``end`` is not later than ``start`` (19:00 to 08:00 spans the night).
    """

    enabled: bool = True
    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "saturday"
    occurrence: Literal["first", "second", "third", "fourth", "last"] = "last"
    start: str = Field(default="19:00", pattern=_CLOCK_TIME)
    end: str = Field(default="08:00", pattern=_CLOCK_TIME)


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class LimitSettings(Section):
    """Caps on what a client may send to the HTTP API."""

    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_csr_bytes: int = Field(default=16 * 1024, ge=1024, le=64 * 1024)


class PickupSettings(Section):
    """Pickup links and the subscriber pages.

    The pages' origin is certsvc's one public address (``public_address(settings)``):
    ``[http] public_url``, else ``link_base_url``'s origin, else serve's own address.
    """

    valid_days: int = Field(default=14, ge=1, le=90)
    link_base_url: str = ""  # empty: <public address>/pickup (domain.public_address)
    # "modern": AES-256-CBC / SHA-256 (Windows 10 1709+, Windows 11); "legacy": 3DES /
    # SHA-1 for old Windows 10 builds and Windows Server 2016, which refuse AES PKCS#12.
    pkcs12_compat: Literal["modern", "legacy"] = "modern"


class CredentialSettings(Section):
    """Rules of the registration letter's credentials (domain.md, "Credentials")."""

    password_max_age_days: int = Field(default=90, ge=1)
    password_history: int = Field(default=2, ge=0, le=10)
    max_failures: int = Field(default=3, ge=1, le=20)
    self_reset_minutes: int = Field(default=60, ge=1)
    helpdesk_reset_hours: int = Field(default=24, ge=1)
    helpdesk_days: tuple[Weekday, ...] = ("tuesday", "thursday")
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    pepper_file: str = ""  # empty: <home>/credentials.pepper, generated on first use


class ConsoleSettings(Section):
    """The helpdesk console's sign-in: server-side session lifetimes and the TOTP issuer.

    Passwords and the lock after failures follow ``[credentials]`` (domain.md: the rules
    apply to every login certsvc offers).
    """

    idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    absolute_hours: int = Field(default=10, ge=1, le=7 * 24)
    totp_issuer: str = Field(default="certsvc", min_length=1, max_length=64, pattern=r"^[^:]+$")
    totp_drift_steps: int = Field(default=1, ge=0, le=4)


class HTTPSettings(Section):
    public_url: str = ""  # empty: origin of [pickup] link_base_url if set, else host:port
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    tls_cert: str = ""  # PEM chain; with tls_key: HTTPS, TLS 1.2+ only
    tls_key: str = ""
    header_timeout_seconds: float = Field(default=10, gt=0)  # a request's headers, from connect
    keep_alive_seconds: int = Field(default=5, ge=1)  # an idle connection between requests
    max_header_bytes: int = Field(default=16384, ge=1024)  # request line and headers
    body_timeout_seconds: float = Field(default=30, gt=0)  # a request body, once headers are in


class GatewaySettings(Section):
    poll_seconds: float = Field(default=0.5, gt=0, le=60)
    crl_debounce_seconds: float = Field(default=0.5, ge=0, le=60)
    crl_check_seconds: float = Field(default=60, gt=0)
    crl_max_age_seconds: int = Field(default=300, ge=0)
    changes_keep_days: int = Field(default=30, ge=1)
    ocsp_validity_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    max_view_age_seconds: float = Field(default=10, gt=0)
    require_token: bool = True  # false: allowlist, changes and check open (loopback only)


class WebhookSettings(Section):
    urls: tuple[str, ...] = ()
    secrets_env: str = "CERTSVC_WEBHOOK_SECRETS"
    secrets_file: str = ""
    timeout_seconds: float = Field(default=5, gt=0)


class MailSettings(Section):
    """The SMTP server the outbox's mail sender talks to (aiosmtplib)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str = ""
    password: SecretStr = SecretStr("")  # or env CERTSVC_MAIL_PASSWORD
    from_: str = Field(default="certsvc@localhost", alias="from")
    reply_to: str = ""
    timeout_seconds: float = Field(default=30.0, gt=0)
    tls_ca_file: str = ""  # extra CA bundle to verify the server; system store otherwise
    templates_dir: str = ""  # operator overrides, looked up before the built-in templates

    def resolved_password(self) -> str:
        """The configured password, else ``$CERTSVC_MAIL_PASSWORD``; never logged."""
        return self.password.get_secret_value() or os.environ.get(MAIL_PASSWORD_ENV, "")


class ReminderSettings(Section):
    days_before: tuple[int, ...] = (60, 30, 14, 7, 1)
    renewal_url: str = ""  # shown in reminders; empty: "ask your administrator"

    @field_validator("days_before")
    @classmethod
    def _sane_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day < 0 or day > 366 for day in value) or len(set(value)) != len(value):
            raise ValueError("days_before takes distinct day counts from 0 to 366")
        return tuple(sorted(value, reverse=True))


class OutboxSettings(Section):
    retry_first_seconds: int = Field(default=60, ge=1)
    retry_max_seconds: int = Field(default=3600, ge=1)
    give_up_after_hours: int = Field(default=168, ge=0)  # 0: retry for ever
    batch_size: int = Field(default=200, ge=1, le=10_000)
    lease_seconds: int = Field(default=600, ge=30)


class SchedulerSettings(Section):
    nightly_at: str = Field(default="00:05", pattern=_CLOCK_TIME)
    drain_interval_seconds: int = Field(default=60, ge=5)
    misfire_grace_seconds: int = Field(default=21_600, ge=1)
    max_catch_up_days: int = Field(default=62, ge=1, le=3660)
    lock_file: str = ""  # SQLite only; empty: <database file>.scheduler.lock


class Settings(Section):
    """All of certsvc's settings; ``home`` is resolved to an absolute path."""

    home: str = ""
    database: DatabaseSettings = DatabaseSettings()
    business: BusinessSettings = BusinessSettings()
    certificates: CertificateSettings = CertificateSettings()
    policy: KeyPolicySettings = KeyPolicySettings()
    reissue: ReissueSettings = ReissueSettings()
    crl: CRLSettings = CRLSettings()
    ca: CASettings = CASettings()
    logging: LoggingSettings = LoggingSettings()
    crl_mirror: CRLMirrorSettings = CRLMirrorSettings()
    maintenance: MaintenanceSettings = MaintenanceSettings()
    limits: LimitSettings = LimitSettings()
    pickup: PickupSettings = PickupSettings()
    credentials: CredentialSettings = CredentialSettings()
    console: ConsoleSettings = ConsoleSettings()
    http: HTTPSettings = HTTPSettings()
    gateway: GatewaySettings = GatewaySettings()
    webhooks: WebhookSettings = WebhookSettings()

    mail: MailSettings = MailSettings()
    reminders: ReminderSettings = ReminderSettings()
    outbox: OutboxSettings = OutboxSettings()
    scheduler: SchedulerSettings = SchedulerSettings()

    @property
    def home_dir(self) -> Path:
        return Path(self.home)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business.timezone)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.home_dir / 'certsvc.db'}"

    def path(self, configured: str, default: str) -> Path:
        """A configured path, relative to ``home``; ``default`` when not configured."""
        return self.home_dir / (configured or default)


def load_settings(config_file: str | Path | None = None) -> Settings:
    """Read settings from ``config_file``, else ``$CERTSVC_CONFIG``, else defaults."""
    chosen = config_file or os.environ.get(CONFIG_ENV)
    data: dict[str, object] = {}
    if chosen:
        data = _read_toml(Path(chosen))
    return settings_from_dict(data)


def settings_from_dict(data: dict[str, object]) -> Settings:
    """Validate a parsed TOML document; errors name the key that is wrong."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"config key {where}: {first['msg']}") from exc
    check_one_address(settings)
    home = settings.home or os.environ.get(HOME_ENV) or ".certsvc"
    return settings.model_copy(update={"home": str(Path(home).expanduser().resolve())})


def origin_of(url: str, key: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL; a ConfigError naming ``key`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"config key {key}: must be an http:// or https:// URL, not {url!r}")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


def check_one_address(settings: Settings) -> None:
    """Refuse two public addresses: certificates, pages and mails must name one origin."""
    for key, url in (
        ("http.public_url", settings.http.public_url),
        ("certificates.url_base", settings.certificates.url_base),
        ("certificates.crl_url", settings.certificates.crl_url),
        ("certificates.ocsp_url", settings.certificates.ocsp_url),
        ("pickup.link_base_url", settings.pickup.link_base_url),
    ):
        if url:
            origin_of(url, key)
    if not settings.http.public_url or not settings.pickup.link_base_url:
        return
    mine = origin_of(settings.http.public_url, "http.public_url")
    pages = origin_of(settings.pickup.link_base_url, "pickup.link_base_url")
    if mine != pages:
        raise ConfigError(
            f"config keys http.public_url ({mine}) and pickup.link_base_url ({pages}) name two "
            "public addresses; certificates, pages and mails must use one"
        )


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
