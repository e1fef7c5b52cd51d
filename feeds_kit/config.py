"""Configuration and credentials: command-line options, environment, named profiles, defaults.

Every setting is looked up in the same order (PRODUCT.md, "Configuration")::

    overrides (command-line options) > environment > profile in the TOML config file > default

and :attr:`Settings.sources` records where each value came from, so ``feeds-kit auth check`` can
say "client id from env LWA_CLIENT_ID, refresh token from profile shop-eu (file ~/.sp/eu.token)"
without printing a secret. The config file format is documented in ``docs/configuration.md``.

Secrets (LWA client secret, refresh token, AWS secret key and session token) never appear in
``repr(settings)``, in exceptions or in logs. A config file or token file that holds a secret and
can be read by group or others is refused: a copied token is a seller account taken over.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from feeds_kit.errors import ConfigError, UsageError
from feeds_kit.marketplaces import BY_ID, LWA_TOKEN_URL, get_marketplace, get_region

APP_NAME = "feeds-kit"

#: Environment variables, in the order they are tried, per setting.
ENV_VARS: dict[str, tuple[str, ...]] = {
    "client_id": ("LWA_CLIENT_ID", "LWA_APP_ID"),
    "client_secret": ("LWA_CLIENT_SECRET",),
    "refresh_token": ("SP_API_REFRESH_TOKEN",),
    "seller_id": ("SP_API_SELLER_ID",),
    "region": ("SP_API_REGION",),
    "endpoint": ("FEEDS_KIT_ENDPOINT",),
    "lwa_endpoint": ("FEEDS_KIT_LWA_ENDPOINT",),
}
ENV_PROFILE = "FEEDS_KIT_PROFILE"
ENV_HOME = "FEEDS_KIT_HOME"
ENV_CONFIG = "FEEDS_KIT_CONFIG"

#: Settings that are credentials: each may be given in a profile as the value, ``NAME_env`` (the
#: variable holding it) or ``NAME_file`` (a file holding it).
CREDENTIAL_KEYS: tuple[str, ...] = (
    "client_id",
    "client_secret",
    "refresh_token",
    "seller_id",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "role_arn",
)
#: Credentials whose value must stay private (masked in repr, files must be 0600).
SECRET_KEYS: frozenset[str] = frozenset(
    {"client_secret", "refresh_token", "aws_secret_access_key", "aws_session_token"}
)
_PLAIN_KEYS: tuple[str, ...] = (
    "region",
    "endpoint",
    "lwa_endpoint",
    "sandbox",
    "marketplace",
    "marketplaces",
    "marketplace_ids",
)
PROFILE_KEYS: frozenset[str] = frozenset(
    _PLAIN_KEYS
    + CREDENTIAL_KEYS
    + tuple(f"{k}_env" for k in CREDENTIAL_KEYS)
    + tuple(f"{k}_file" for k in CREDENTIAL_KEYS)
)
_TOP_LEVEL_KEYS = frozenset({"default_profile", "profiles"})

#: Words used in sentences about a missing credential.
_LABELS: dict[str, str] = {
    "client_id": "LWA client id",
    "client_secret": "LWA client secret",
    "refresh_token": "refresh token",
    "seller_id": "seller id",
}


def home_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where feeds-kit keeps its state (journal, caches): ``FEEDS_KIT_HOME`` or the user data
    directory of the platform (``~/.local/share/feeds-kit`` on Linux)."""
    value = env.get(ENV_HOME)
    if value:
        return Path(value).expanduser()
    return platformdirs.user_data_path(APP_NAME)


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    """The TOML config file: ``FEEDS_KIT_CONFIG`` or ``config.toml`` in the user config
    directory of the platform (``~/.config/feeds-kit/config.toml`` on Linux)."""
    value = env.get(ENV_CONFIG)
    if value:
        return Path(value).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


@dataclass
class Settings:
    """Everything needed to talk to SP-API for one seller account, and where each value came from.

    ``sources`` maps a setting name to its origin: ``"option"``, ``"env LWA_CLIENT_ID"``,
    ``"profile shop-eu"``, ``"profile shop-eu (env SHOP_SECRET)"``,
    ``"profile shop-eu (file /path)"``, ``"marketplace DE"`` or ``"default"``.
    """

    profile: str | None = None
    region: str = "na"
    endpoint: str = ""
    lwa_endpoint: str = LWA_TOKEN_URL
    seller_id: str | None = None
    marketplace_ids: list[str] = field(default_factory=list)
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    role_arn: str | None = None
    sandbox: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None
    home: Path | None = None
    #: Why a credential is absent although a source was configured (``client_secret`` ->
    #: ``"profile shop-eu names env SHOP_SECRET, which is not set"``).
    unresolved: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_KEYS and value is not None:
                parts.append(f"{f.name}='***'")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    @property
    def sigv4_enabled(self) -> bool:
        """True when AWS keys are configured: requests are then also signed with SigV4."""
        return bool(self.aws_access_key_id and self.aws_secret_access_key)

    def require_credentials(self, *, seller_id: bool = False) -> None:
        """Raise :class:`ConfigError` naming each missing LWA credential and where it can come
        from (and the seller id too when ``seller_id`` is asked for)."""
        needed = ["client_id", "client_secret", "refresh_token"]
        if seller_id:
            needed.append("seller_id")
        missing = [key for key in needed if not getattr(self, key)]
        if self.aws_access_key_id and not self.aws_secret_access_key:
            missing.append("aws_secret_access_key")
        if self.aws_secret_access_key and not self.aws_access_key_id:
            missing.append("aws_access_key_id")
        if not missing:
            return
        where = self._profile_place()
        pieces = []
        for key in missing:
            label = _LABELS.get(key, key)
            if key in self.unresolved:
                pieces.append(f"{label} ({self.unresolved[key]})")
                continue
            env_names = " or ".join(ENV_VARS.get(key, ()))
            options = f"{key} / {key}_env / {key}_file in {where}"
            pieces.append(
                f"{label} (set {env_names}, or {options})" if env_names else f"{label} ({options})"
            )
        raise ConfigError(
            f"Missing credentials: {'; '.join(pieces)}.",
            profile=self.profile,
            config_file=str(self.config_file) if self.config_file else None,
            missing=missing,
        )

    def _profile_place(self) -> str:
        file = str(self.config_file) if self.config_file else "the config file"
        if self.profile:
            return f"profile {self.profile} of {file}"
        return f"a profile of {file}"

    def describe(self) -> dict[str, str]:
        """Setting name -> a printable value (secrets shown as ``set``/``missing``) with its
        source, for ``feeds-kit auth check`` and ``config show``; never a secret."""
        shown: dict[str, str] = {}
        for key in (
            "profile",
            "region",
            "endpoint",
            "lwa_endpoint",
            "seller_id",
            "marketplace_ids",
            "client_id",
            *sorted(SECRET_KEYS),
            "aws_access_key_id",
            "role_arn",
            "sandbox",
        ):
            value = getattr(self, key)
            if key in SECRET_KEYS:
                text = "set" if value else "missing"
            elif isinstance(value, list):
                text = ", ".join(value) if value else "none"
            else:
                text = "none" if value is None else str(value)
            source = self.sources.get(key)
            shown[key] = f"{text} ({source})" if source else text
        return shown


# --------------------------------------------------------------------------------- loading


def load_settings(
    *,
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] = os.environ,
    path: Path | None = None,
) -> Settings:
    """Resolve the settings for ``profile`` (else ``FEEDS_KIT_PROFILE``, else the file's
    ``default_profile``, else a profile named ``default`` if there is one).

    ``overrides`` are command-line options by setting name (``None`` values are ignored);
    ``marketplace_ids`` may be a string or a list of codes/ids. Raises :class:`UsageError` for an
    unknown profile, marketplace or region, :class:`ConfigError` for an unreadable or unsafe
    config or token file. Missing credentials are not an error here (``validate`` needs none):
    call :meth:`Settings.require_credentials` before talking to Amazon.
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(overrides) - _OVERRIDE_KEYS
    if unknown:
        raise TypeError(f"unknown setting(s) in overrides: {', '.join(sorted(unknown))}")
    file = path if path is not None else config_path(env)
    data = _read_config(file)
    name, table = _select_profile(data, profile, env, file)

    settings = Settings(profile=name, config_file=file, home=home_dir(env))
    origin = f"profile {name}" if name else ""
    resolver = _Resolver(settings, overrides, env, table, origin, file)

    for key in CREDENTIAL_KEYS:
        resolver.credential(key)

    for key in ("endpoint", "lwa_endpoint"):
        value, source = resolver.plain(key)
        if value is not None:
            setattr(settings, key, _check_url(str(value), key, source))
            settings.sources[key] = source

    sandbox, source = resolver.plain("sandbox")
    if sandbox is not None:
        if not isinstance(sandbox, bool):
            raise ConfigError(
                f"sandbox must be true or false (from {source}), not {sandbox!r}.", file=str(file)
            )
        settings.sandbox = sandbox
        settings.sources["sandbox"] = source

    _resolve_marketplaces(resolver, overrides, table, origin, file)
    _resolve_region(resolver, settings)

    if "endpoint" not in settings.sources:
        region = get_region(settings.region)
        settings.endpoint = region.sandbox_endpoint if settings.sandbox else region.endpoint
        suffix = " (sandbox)" if settings.sandbox else ""
        settings.sources["endpoint"] = f"region {settings.region}{suffix}"
    if "lwa_endpoint" not in settings.sources:
        settings.sources["lwa_endpoint"] = "default"
    return settings


_OVERRIDE_KEYS = frozenset(
    {"region", "endpoint", "lwa_endpoint", "sandbox", "marketplace_ids", *CREDENTIAL_KEYS}
)


class _Resolver:
    """Looks a setting up along option > env > profile and records where it was found."""

    def __init__(
        self,
        settings: Settings,
        overrides: Mapping[str, Any],
        env: Mapping[str, str],
        table: Mapping[str, Any],
        origin: str,
        file: Path,
    ) -> None:
        self.settings = settings
        self.overrides = overrides
        self.env = env
        self.table = table
        self.origin = origin
        self.file = file

    def plain(self, key: str) -> tuple[Any, str]:
        if key in self.overrides:
            return self.overrides[key], "option"
        for var in ENV_VARS.get(key, ()):
            value = self.env.get(var)
            if value:
                return value, f"env {var}"
        if key in self.table:
            return self.table[key], self.origin
        return None, "default"

    def credential(self, key: str) -> None:
        value, source = self._credential(key)
        if value is not None:
            value = str(value).strip()
        if value:
            setattr(self.settings, key, value)
            self.settings.sources[key] = source

    def _credential(self, key: str) -> tuple[Any, str]:
        if key in self.overrides:
            return self.overrides[key], "option"
        for var in ENV_VARS.get(key, ()):
            value = self.env.get(var)
            if value:
                return value, f"env {var}"
        given = [k for k in (key, f"{key}_env", f"{key}_file") if k in self.table]
        if len(given) > 1:
            raise ConfigError(
                f"{self.origin} of {self.file} gives {key} more than one way "
                f"({', '.join(given)}): keep one.",
                file=str(self.file),
            )
        if not given:
            return None, "default"
        how = given[0]
        raw = self.table[how]
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(
                f"{how} in {self.origin} of {self.file} must be a non-empty string.",
                file=str(self.file),
            )
        if how == key:
            return raw, self.origin
        if how.endswith("_env"):
            value = self.env.get(raw)
            if not value:
                self.settings.unresolved[key] = f"{self.origin} names env {raw}, which is not set"
                return None, "default"
            return value, f"{self.origin} (env {raw})"
        token_path = Path(raw).expanduser()
        if not token_path.is_absolute():
            token_path = self.file.parent / token_path
        text = _read_private_file(
            token_path,
            secret=key in SECRET_KEYS,
            setting=how,
            origin=f"{self.origin} of {self.file}",
        )
        return text, f"{self.origin} (file {token_path})"


def _read_config(file: Path) -> dict[str, Any]:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the config file {file}: {exc.strerror or exc}.", file=str(file)
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"The config file {file} is not UTF-8 text.", file=str(file)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"The config file {file} is not valid TOML: {exc}.", file=str(file)
        ) from None
    unknown = set(data) - _TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(
            f"Unknown top-level key(s) {', '.join(sorted(unknown))} in {file}: "
            "expected default_profile and [profiles.NAME] tables.",
            file=str(file),
        )
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"In {file}, profiles must be tables: [profiles.NAME].", file=str(file))
    for name, table in profiles.items():
        bad = sorted(set(table) - PROFILE_KEYS)
        if bad:
            raise ConfigError(
                f"Unknown setting(s) {', '.join(bad)} in profile {name} of {file}: "
                f"known settings are {', '.join(sorted(PROFILE_KEYS))}.",
                file=str(file),
                profile=name,
            )
    if any(key in table for table in profiles.values() for key in SECRET_KEYS):
        _check_private(file, what="config file")
    return data


def _select_profile(
    data: Mapping[str, Any], requested: str | None, env: Mapping[str, str], file: Path
) -> tuple[str | None, Mapping[str, Any]]:
    profiles: Mapping[str, Mapping[str, Any]] = data.get("profiles", {})
    explicit = requested or env.get(ENV_PROFILE)
    if explicit:
        if explicit in profiles:
            return explicit, profiles[explicit]
        if not profiles:
            raise UsageError(
                f"Unknown profile {explicit!r}: {file} defines no profiles "
                "(see docs/configuration.md).",
                profile=explicit,
            )
        raise UsageError(
            f"Unknown profile {explicit!r}: {file} defines {', '.join(sorted(profiles))}.",
            profile=explicit,
        )
    default = data.get("default_profile")
    if default is not None:
        if default not in profiles:
            raise ConfigError(
                f"default_profile {default!r} in {file} is not one of its profiles "
                f"({', '.join(sorted(profiles)) or 'none'}).",
                file=str(file),
            )
        return str(default), profiles[default]
    if "default" in profiles:
        return "default", profiles["default"]
    return None, {}


def _resolve_marketplaces(
    resolver: _Resolver,
    overrides: Mapping[str, Any],
    table: Mapping[str, Any],
    origin: str,
    file: Path,
) -> None:
    settings = resolver.settings
    if "marketplace_ids" in overrides:
        raw, source = overrides["marketplace_ids"], "option"
    else:
        given = [k for k in ("marketplace", "marketplaces", "marketplace_ids") if k in table]
        if len(given) > 1:
            raise ConfigError(
                f"{origin} of {file} gives marketplaces more than one way "
                f"({', '.join(given)}): keep one.",
                file=str(file),
            )
        if not given:
            return
        raw, source = table[given[0]], origin
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, Sequence) or not all(isinstance(i, str) for i in items):
        raise ConfigError(
            f"Marketplaces in {origin or 'the options'} must be a code, an id or a list of them.",
            file=str(file),
        )
    ids: list[str] = []
    for item in items:
        for part in item.split(","):
            if part.strip():
                market_id = get_marketplace(part.strip()).id
                if market_id not in ids:
                    ids.append(market_id)
    settings.marketplace_ids = ids
    if ids:
        settings.sources["marketplace_ids"] = source


def _resolve_region(resolver: _Resolver, settings: Settings) -> None:
    value, source = resolver.plain("region")
    markets = [BY_ID[m] for m in settings.marketplace_ids]
    market_regions = {m.region for m in markets}
    if value is None:
        if len(market_regions) > 1:
            listing = ", ".join(f"{m.code} ({m.region})" for m in markets)
            raise UsageError(
                f"Marketplaces {listing} are in different regions: use one region per profile "
                "or per submission."
            )
        if markets:
            settings.region = markets[0].region
            settings.sources["region"] = f"marketplace {markets[0].code}"
        else:
            settings.sources["region"] = "default"
        return
    if not isinstance(value, str):
        raise ConfigError(f"region must be na, eu or fe (from {source}), not {value!r}.")
    region = get_region(value).code
    for market in markets:
        if market.region != region:
            raise UsageError(
                f"Marketplace {market.code} ({market.id}) is in region {market.region}, but the "
                f"region is {region} (from {source}): set region {market.region} or choose a "
                f"marketplace of {region}.",
            )
    settings.region = region
    settings.sources["region"] = source


def _check_url(value: str, key: str, source: str) -> str:
    text = value.strip().rstrip("/")
    if not text.startswith(("https://", "http://")) or len(text.split("://", 1)[1]) == 0:
        raise ConfigError(
            f"{key} {text!r} (from {source}) is not an http(s) URL: write e.g. "
            "https://sellingpartnerapi-eu.amazon.com.",
        )
    return text


# ------------------------------------------------------------------------- file safety


def _is_shared(mode: int) -> bool:
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def _check_private(path: Path, *, what: str) -> None:
    """Refuse a secret-holding file that group or others can read or write (POSIX only)."""
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return  # the read that follows says which file is missing and who named it
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the {what} {path}: {exc.strerror or exc}.", file=str(path)
        ) from None
    if _is_shared(mode):
        raise ConfigError(
            f"The {what} {path} holds secrets but is readable by others "
            f"(mode {stat.S_IMODE(mode):03o}): run chmod 600 {path}.",
            file=str(path),
        )


def _read_private_file(path: Path, *, secret: bool, setting: str, origin: str) -> str:
    if secret:
        _check_private(path, what="token file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"The file {path} named by {setting} in {origin} does not exist.", file=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(
            f"Cannot read {path} named by {setting} in {origin}: {reason}.", file=str(path)
        ) from None
    value = text.strip()
    if not value:
        raise ConfigError(
            f"The file {path} named by {setting} in {origin} is empty.", file=str(path)
        )
    return value
