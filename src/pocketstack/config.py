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


NOVA_DEFAULT_QUOTAS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "metadata_items": 128,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
    "key_pairs": 100,
    "server_groups": 10,
    "server_group_members": 10,
}


class ComputeSettings(BaseModel):
    """Nova's options that matter here: the hypervisor driver, this host, quotas."""

    # "qemu" (real guests), "fake" (in memory, API tests and scale benchmarks), or "auto":
    # qemu when qemu-system-x86_64 is installed, else fake
    driver: str = "auto"
    host: str | None = None  # this compute host's name; default: the machine's hostname
    default_availability_zone: str = "nova"
    # run the compute agent inside `pocketstack allinone`/`serve` (off when agents run apart)
    run_agent: bool = True
    agent_interval: float = 2.0  # seconds between reconcile passes when nothing wakes the agent
    service_down_time: float = 60.0  # a service whose heartbeat is older than this is "down"
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512
    # every server gets a config drive (Nova's force_config_drive; Nova's default is False):
    # a server booted with no network (--no-network) learns its keys and user data only from
    # the drive; with a network, 169.254.169.254 serves them too
    force_config_drive: bool = True
    # the metadata proxy's shared secret (Nova's metadata_proxy_shared_secret); unset: one
    # is made at first use and kept in <data_dir>/metadata-proxy-secret
    metadata_proxy_shared_secret: str | None = None
    use_cow_images: bool = True  # qcow2 overlays on cached base images; False: a raw copy per server
    shutdown_timeout: float = 60.0  # seconds a guest gets to shut down cleanly before it is stopped
    console_log_bytes: int = 1 << 20  # the serial console log kept per server
    # what a project may use when no os-quota-sets limit says otherwise
    default_quotas: dict[str, int] = Field(default_factory=lambda: dict(NOVA_DEFAULT_QUOTAS))
    # `pocketstack allinone` builds the small test guest (cached) and publishes it as the
    # public image "pocketstack-test-guest", so a new user can boot a server at once
    test_image: bool = True
    # where built guest images and their downloaded packages are kept, shared by every
    # data directory of this user (default: ~/.cache/pocketstack/guest-images)
    guest_image_cache: Path | None = None
    # fake driver knobs: seconds a boot takes (to see BUILD in tests)
    fake_spawn_delay: float = 0.0


class NetworkSettings(BaseModel):
    """The network agent's options (Neutron's linuxbridge, DHCP and L3 agents in one)."""

    # "linux" (bridges, namespaces, dnsmasq, iptables: needs root), "noop" (records calls,
    # builds nothing: API-only use), or "auto": linux when running as root, else noop
    dataplane: str = "auto"
    # run the network agent inside `pocketstack allinone`/`serve`; None: when the dataplane is linux
    run_agent: bool | None = None
    host: str | None = None  # this host's name for port bindings; default: the machine's hostname
    agent_interval: float = 5.0  # seconds between reconcile passes when nothing wakes the agent
    # physical network -> an existing host bridge that carries its flat networks (Neutron's
    # bridge_mappings); the external network's bridge is chosen here. Never the uplink itself
    # unless you mean it: pocketstack plugs router gateways into that bridge.
    bridge_mappings: dict[str, str] = Field(default_factory=dict)
    dhcp_agent: bool = True  # serve DHCP for every network here (the network node's role)
    l3_agent: bool = True  # build every router here (the network node's role)
    dhcp_lease_time: int = 86400  # seconds
    dns_domain: str = "openstacklocal"
    # answer 169.254.169.254 in DHCP and router namespaces (when compute runs in this cloud)
    metadata_proxy: bool = True
    # marks what this cloud's agent owns on a shared machine (device aliases, chain and set
    # names); default: derived from the database URL, so two clouds on one host never
    # remove each other's devices
    scope: str | None = Field(None, pattern=r"^[0-9a-f]{6}$")


def default_guest_image_cache() -> Path:
    return Path.home() / ".cache" / "pocketstack" / "guest-images"


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
    compute: ComputeSettings = ComputeSettings()
    network: NetworkSettings = NetworkSettings()
    services: list[str] = Field(default_factory=lambda: ["identity", "image", "compute", "network"])

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
