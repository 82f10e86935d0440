"""One typed settings object for the whole cloud.

Values come, lowest to highest precedence, from the defaults below, a TOML file
(`pocketstack serve --config FILE`), environment variables `POCKETSTACK_<NAME>`
(nested sections with a double underscore: `POCKETSTACK_IDENTITY__TOKEN_EXPIRATION`)
and finally command-line flags.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(os.environ.get("POCKETSTACK_DATA_DIR", "/var/lib/pocketstack"))


class SecurityCompliance(BaseModel):
    """Keystone's [security_compliance] options; 0 or None means "off"."""

    lockout_failure_attempts: int = 0
    lockout_duration: int = 1800  # seconds a locked-out user waits
    unique_last_password_count: int = 0  # how many previous passwords may not be reused
    minimum_password_age: int = 0  # days before a user may change their password again
    password_expires_days: int = 0
    password_regex: str | None = None
    password_regex_description: str | None = None
    change_password_upon_first_use: bool = False


class IdentitySettings(BaseModel):
    token_expiration: int = 3600  # seconds
    allow_expired_window: int = 172800  # seconds an expired token may still be read with allow_expired
    password_hash_rounds: int = 12  # bcrypt cost, the same as Keystone's default
    token_cache_ttl: float = 300.0  # seconds a validated token stays cached (revocation clears it)
    max_password_length: int = 4096
    list_limit: int | None = None
    security_compliance: SecurityCompliance = SecurityCompliance()


class ImageSettings(BaseModel):
    """Glance's options that matter here: where image data lives and how imports behave."""

    # store id -> description; each store is a directory <data_dir>/images/<id>
    stores: dict[str, str] = Field(default_factory=lambda: {"local": "Images on this machine's disk"})
    default_store: str = "local"
    # store id -> weight: an image's stores are listed heaviest first (Glance's store weights)
    store_weights: dict[str, int] = Field(default_factory=dict)
    import_methods: list[str] = Field(default_factory=lambda: ["glance-direct", "web-download", "glance-download", "copy-image"])
    # web-download may fetch only from these hosts ("host" or "host:port"); empty: none at all
    web_download_allowed_hosts: list[str] = Field(default_factory=list)
    # disk format every import converts to with qemu-img (Glance's image_conversion plugin); None: keep as uploaded
    convert_to: str | None = None
    # refuse data whose content is not the declared disk_format (Glance's
    # require_image_format_match). Off, data of another format than declared is accepted once
    # checked for safety as what it really is; an unsafe image is refused either way.
    require_format_match: bool = True
    max_image_size: int = 1 << 40  # bytes (Glance: image_size_cap, 1 TiB)
    hash_algo: str = "sha512"  # os_hash_algo
    # image files `pocketstack allinone` publishes (public, owned by the admin project) when
    # no image of that name exists yet; the name is the file name without its extension
    seed_images: list[Path] = Field(default_factory=list)
    # the read-only "http" store (id below): images whose data stays at an http(s) URL on
    # a host of web_download_allowed_hosts, added with POST /v2/images/{id}/locations
    # (or a JSON-patch of /locations when show_multiple_locations is on)
    http_store: bool = False
    http_store_id: str = "web"
    # Glance's show_multiple_locations / show_image_direct_url: show where the data lives
    # (file paths of this machine included), and let owners manage locations by JSON-patch
    show_multiple_locations: bool = False
    show_image_direct_url: bool = False

    @model_validator(mode="after")
    def _stores_agree(self) -> ImageSettings:
        if self.default_store not in self.stores:
            raise ValueError(f"image.default_store {self.default_store!r} is not one of image.stores ({', '.join(self.stores)})")
        unknown = set(self.store_weights) - set(self.stores)
        if unknown:
            raise ValueError(f"image.store_weights names stores that do not exist: {', '.join(sorted(unknown))}")
        if self.http_store and self.http_store_id in self.stores:
            raise ValueError(f"image.http_store_id {self.http_store_id!r} is also the id of a filesystem store")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POCKETSTACK_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None  # default: SQLite in data_dir
    host: str = "127.0.0.1"
    port: int = 5000
    public_url: str | None = None  # what the catalog advertises; default http://host:port
    region: str = "RegionOne"
    log_level: str = "info"
    policy_file: Path | None = None  # YAML/JSON rule overrides, oslo.policy style
    max_request_body: int = 1024 * 1024  # bytes; bigger JSON bodies get 413
    admin_password: str | None = None  # bootstrap only; generated when absent
    identity: IdentitySettings = IdentitySettings()
    image: ImageSettings = ImageSettings()
    services: list[str] = Field(default_factory=lambda: ["identity", "image"])

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'pocketstack.db'}"

    @property
    def effective_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from file + environment, then explicit overrides (None values ignored)."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        with open(config_file, "rb") as f:
            file_values = tomllib.load(f)
    # Environment beats the file: pydantic-settings gives init kwargs the highest
    # priority, so merge the file underneath what the environment says ourselves.
    env_only = Settings()  # defaults + environment
    env_set = env_only.model_dump(exclude_defaults=True)
    merged = _deep_merge(file_values, env_set)
    merged = _deep_merge(merged, {k: v for k, v in overrides.items() if v is not None})
    return Settings(**merged)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
