"""Configuration from the environment, with safe defaults for the demo.

Every setting can come from an environment variable of the same name. Secrets that are not
given are generated once and kept under ``instance/`` so that a restart keeps sessions valid.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("COURTYARD_INSTANCE", ROOT / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _kept_secret(name: str) -> str:
    """The secret from the environment, else one generated once and kept in instance/."""
    if value := os.environ.get(name):
        return value
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / name.lower()
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment() -> dict:
    """The configuration mapping read from the environment."""
    env = os.environ.get("COURTYARD_ENV", "development")
    production = env == "production"
    return {
        "ENV_NAME": env,
        "SECRET_KEY": _kept_secret("SECRET_KEY"),
        #: Key of the HMAC that stores ID numbers as digests (verification without the number).
        "ID_HASH_KEY": _kept_secret("ID_HASH_KEY"),
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE / 'courtyard.db'}"
        ),
        #: The site's Ed25519 seed in base64 (app/signing.py keeps one in instance/ if empty).
        "SITE_SIGNING_KEY": os.environ.get("SITE_SIGNING_KEY", ""),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "SITE_URL": os.environ.get("SITE_URL", "http://127.0.0.1:5000"),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "courtyard_session",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_BYTES", 16 * 1024 * 1024)),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        #: Per account (or activation code), from any address.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "5 per minute;30 per hour"),
        #: Per address: many owners may share one office's connection on activation day.
        "LOGIN_ADDRESS_RATE_LIMIT": os.environ.get(
            "LOGIN_ADDRESS_RATE_LIMIT", "30 per minute;300 per hour"
        ),
        "ACTIVATION_CODE_DAYS": int(os.environ.get("ACTIVATION_CODE_DAYS", 60)),
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "SCHEMA_CHECK": True,
        #: How received ballots join the board's chain: ``inline`` (in the cast's own
        #: transaction) or ``background`` (after the commit, in batches, by a thread of the
        #: worker). Unset: background when serving on PostgreSQL, inline otherwise.
        "BOARD_CHAIN": os.environ.get("BOARD_CHAIN") or None,
        #: The MQTT broker of device alarms, and the first level of their topics.
        "MQTT_HOST": os.environ.get("MQTT_HOST", "127.0.0.1"),
        "MQTT_PORT": int(os.environ.get("MQTT_PORT", 1883)),
        "ALARMS_TOPIC_PREFIX": os.environ.get("ALARMS_TOPIC_PREFIX", "courtyard"),
        #: One persistent session per ingester: the broker keeps its messages while it is away.
        "ALARMS_CLIENT_ID": os.environ.get("ALARMS_CLIENT_ID", "courtyard-alarms"),
        #: Raw events that belong to no alarm (tests, openings, heartbeats) are kept this long.
        "ALARMS_EVENT_RETENTION_DAYS": int(os.environ.get("ALARMS_EVENT_RETENTION_DAYS", 180)),
        #: Redis of the console's live news (pub/sub); empty: REDIS_URL; both empty: in-process.
        "ALARMS_REDIS_URL": os.environ.get("ALARMS_REDIS_URL", ""),
        #: First part of the Redis channels (sites sharing a Redis use different ones).
        "ALARMS_LIVE_NAMESPACE": os.environ.get("ALARMS_LIVE_NAMESPACE", ""),
        #: A console stream ends after this long (s); the browser reconnects with Last-Event-ID.
        "ALARMS_STREAM_SECONDS": float(os.environ.get("ALARMS_STREAM_SECONDS", 300)),
    }
