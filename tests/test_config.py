"""Configuration: precedence, profiles, credential sources, file safety, messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from feeds_kit.config import Settings, config_path, home_dir, load_settings
from feeds_kit.errors import ConfigError, UsageError

SECRET = "s3cr3t-client-secret-value"
REFRESH = "Atzr|refresh-token-value"

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def load(path: Path, env: dict[str, str] | None = None, **kw) -> Settings:
    return load_settings(env=env or {}, path=path, **kw)


# ------------------------------------------------------------------------- locations


def test_home_dir_and_config_path_follow_the_environment(tmp_path: Path) -> None:
    env = {"FEEDS_KIT_HOME": str(tmp_path / "home"), "FEEDS_KIT_CONFIG": str(tmp_path / "c.toml")}
    assert home_dir(env) == tmp_path / "home"
    assert config_path(env) == tmp_path / "c.toml"


def test_home_dir_and_config_path_default_to_the_platform_dirs() -> None:
    assert home_dir({}).name == "feeds-kit"
    assert config_path({}).name == "config.toml"
    assert config_path({}).parent.name == "feeds-kit"


# ------------------------------------------------------------------------- precedence


PROFILE = """
default_profile = "shop-eu"

[profiles.shop-eu]
region = "eu"
marketplace = "DE"
seller_id = "A-PROFILE"
client_id = "amzn1.application-oa2-client.profile"
client_secret = "profile-secret"
refresh_token = "profile-refresh"

[profiles.shop-us]
marketplaces = ["US", "CA"]
client_id_env = "US_CLIENT_ID"
"""


@pytest.mark.parametrize(
    ("env", "overrides", "expected", "source"),
    [
        ({}, {}, "amzn1.application-oa2-client.profile", "profile shop-eu"),
        ({"LWA_APP_ID": "from-app-id"}, {}, "from-app-id", "env LWA_APP_ID"),
        (
            {"LWA_APP_ID": "from-app-id", "LWA_CLIENT_ID": "from-client-id"},
            {},
            "from-client-id",
            "env LWA_CLIENT_ID",
        ),
        ({"LWA_CLIENT_ID": "from-env"}, {"client_id": "from-option"}, "from-option", "option"),
        ({"LWA_CLIENT_ID": "from-env"}, {"client_id": None}, "from-env", "env LWA_CLIENT_ID"),
    ],
)
def test_precedence_option_env_profile(
    tmp_path: Path, env: dict[str, str], overrides: dict, expected: str, source: str
) -> None:
    settings = load(write_config(tmp_path, PROFILE), env, overrides=overrides)
    assert settings.client_id == expected
    assert settings.sources["client_id"] == source


def test_profile_values_and_sources(tmp_path: Path) -> None:
    settings = load(write_config(tmp_path, PROFILE))
    assert settings.profile == "shop-eu"
    assert settings.region == "eu"
    assert settings.endpoint == "https://sellingpartnerapi-eu.amazon.com"
    assert settings.lwa_endpoint == "https://api.amazon.com/auth/o2/token"
    assert settings.marketplace_ids == ["A1PA6795UKMFR9"]
    assert settings.seller_id == "A-PROFILE"
    assert settings.sources["region"] == "profile shop-eu"
    assert settings.sources["endpoint"] == "region eu"
    assert settings.sources["lwa_endpoint"] == "default"
    settings.require_credentials(seller_id=True)


def test_env_profile_selection_and_region_from_marketplace(tmp_path: Path) -> None:
    env = {"FEEDS_KIT_PROFILE": "shop-us", "US_CLIENT_ID": "us-client"}
    settings = load(write_config(tmp_path, PROFILE), env)
    assert settings.profile == "shop-us"
    assert settings.marketplace_ids == ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]
    assert settings.region == "na"
    assert settings.sources["region"] == "marketplace US"
    assert settings.client_id == "us-client"
    assert settings.sources["client_id"] == "profile shop-us (env US_CLIENT_ID)"


def test_explicit_profile_beats_env_profile(tmp_path: Path) -> None:
    env = {"FEEDS_KIT_PROFILE": "shop-us"}
    assert load(write_config(tmp_path, PROFILE), env, profile="shop-eu").profile == "shop-eu"


def test_environment_only_without_config_file(tmp_path: Path) -> None:
    env = {
        "LWA_CLIENT_ID": "cid",
        "LWA_CLIENT_SECRET": SECRET,
        "SP_API_REFRESH_TOKEN": REFRESH,
        "SP_API_SELLER_ID": "A-ENV",
        "SP_API_REGION": "FE",
        "FEEDS_KIT_ENDPOINT": "http://127.0.0.1:8080/",
        "FEEDS_KIT_LWA_ENDPOINT": "http://127.0.0.1:8080/auth/o2/token",
    }
    settings = load(tmp_path / "missing.toml", env)
    assert settings.profile is None
    assert settings.region == "fe"
    assert settings.endpoint == "http://127.0.0.1:8080"
    assert settings.lwa_endpoint == "http://127.0.0.1:8080/auth/o2/token"
    assert settings.sources["endpoint"] == "env FEEDS_KIT_ENDPOINT"
    assert settings.sources["refresh_token"] == "env SP_API_REFRESH_TOKEN"
    assert settings.seller_id == "A-ENV"
    settings.require_credentials(seller_id=True)


def test_defaults_when_nothing_is_configured(tmp_path: Path) -> None:
    settings = load(tmp_path / "none.toml")
    assert (settings.region, settings.endpoint) == ("na", "https://sellingpartnerapi-na.amazon.com")
    assert settings.sources["region"] == "default"
    assert settings.marketplace_ids == []


def test_marketplace_option_accepts_codes_ids_and_commas(tmp_path: Path) -> None:
    settings = load(
        tmp_path / "none.toml", overrides={"marketplace_ids": ["uk", "A1PA6795UKMFR9,fr"]}
    )
    assert settings.marketplace_ids == ["A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH"]
    assert settings.region == "eu"
    assert settings.sources["marketplace_ids"] == "option"


def test_sandbox_profile_selects_amazons_sandbox_host(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[profiles.test]\nmarketplace = "JP"\nsandbox = true\n')
    settings = load(path, profile="test")
    assert settings.endpoint == "https://sandbox.sellingpartnerapi-fe.amazon.com"
    assert settings.sources["endpoint"] == "region fe (sandbox)"


def test_profile_named_default_is_used_without_selection(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[profiles.default]\nregion = "eu"\n')
    assert load(path).profile == "default"


# ------------------------------------------------------------------------- errors


def test_unknown_profile_lists_the_profiles(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILE)
    with pytest.raises(UsageError) as info:
        load(path, profile="shop-jp")
    assert str(info.value) == f"Unknown profile 'shop-jp': {path} defines shop-eu, shop-us."
    assert info.value.exit_code == 2


def test_unknown_profile_without_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(UsageError, match=r"^Unknown profile 'x': .*nope.toml defines no profiles"):
        load(path, profile="x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profiles.a\n", "is not valid TOML"),
        ("colour = 1\n", "Unknown top-level key(s) colour"),
        ("[profiles.a]\nrefresh_tokne_file = 'x'\n", "Unknown setting(s) refresh_tokne_file"),
        ("[profiles.a]\nclient_id = 'x'\nclient_id_env = 'Y'\n", "gives client_id more than one"),
        ("[profiles.a]\nmarketplace = 'DE'\nmarketplaces = ['FR']\n", "marketplaces more than"),
        ("[profiles.a]\nsandbox = 'yes'\n", "sandbox must be true or false"),
        ("[profiles.a]\nendpoint = 'ftp://x'\n", "is not an http(s) URL"),
        ("default_profile = 'b'\n[profiles.a]\n", "default_profile 'b'"),
    ],
)
def test_bad_config_files_raise_config_error(tmp_path: Path, text: str, message: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, profile="a" if "default_profile" not in text else None)
    assert message in str(info.value)
    assert info.value.exit_code == 3


def test_unknown_marketplace_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Unknown marketplace 'XX'"):
        load(tmp_path / "none.toml", overrides={"marketplace_ids": "XX"})


def test_marketplaces_in_two_regions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load(tmp_path / "none.toml", overrides={"marketplace_ids": ["DE", "US"]})
    assert str(info.value) == (
        "Marketplaces DE (eu), US (na) are in different regions: use one region per profile "
        "or per submission."
    )


def test_marketplace_outside_the_region_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load(tmp_path / "none.toml", {"SP_API_REGION": "na"}, overrides={"marketplace_ids": "DE"})
    assert str(info.value) == (
        "Marketplace DE (A1PA6795UKMFR9) is in region eu, but the region is na (from env "
        "SP_API_REGION): set region eu or choose a marketplace of na."
    )


def test_unknown_region(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"Unknown region 'us': use na, eu or fe"):
        load(tmp_path / "none.toml", {"SP_API_REGION": "us"})


# ------------------------------------------------------------------------- file safety


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_config_file_with_secrets_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_config(tmp_path, f'[profiles.a]\nclient_secret = "{SECRET}"\n', mode=mode)
    with pytest.raises(ConfigError) as info:
        load(path, profile="a")
    assert str(info.value) == (
        f"The config file {path} holds secrets but is readable by others (mode {mode:03o}): "
        f"run chmod 600 {path}."
    )
    assert SECRET not in str(info.value)


@posix_only
def test_config_file_without_secrets_may_be_shared(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[profiles.a]\nclient_secret_env = "X"\n', mode=0o644)
    assert load(path, {"X": SECRET}, profile="a").client_secret == SECRET


@posix_only
def test_token_file_is_read_relative_to_the_config_and_must_be_private(tmp_path: Path) -> None:
    token = tmp_path / "eu.token"
    token.write_text(REFRESH + "\n", encoding="utf-8")
    token.chmod(0o600)
    path = write_config(tmp_path, '[profiles.a]\nrefresh_token_file = "eu.token"\n', mode=0o644)
    settings = load(path, profile="a")
    assert settings.refresh_token == REFRESH
    assert settings.sources["refresh_token"] == f"profile a (file {token})"

    token.chmod(0o644)
    with pytest.raises(ConfigError) as info:
        load(path, profile="a")
    assert str(info.value) == (
        f"The token file {token} holds secrets but is readable by others (mode 644): "
        f"run chmod 600 {token}."
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), ("  \n", "is empty")],
)
def test_unusable_token_files(tmp_path: Path, content: str | None, message: str) -> None:
    token = tmp_path / "t.token"
    if content is not None:
        token.write_text(content, encoding="utf-8")
        token.chmod(0o600)
    path = write_config(tmp_path, f'[profiles.a]\nrefresh_token_file = "{token}"\n')
    with pytest.raises(ConfigError) as info:
        load(path, profile="a")
    assert str(info.value) == (
        f"The file {token} named by refresh_token_file in profile a of {path} {message}."
    )


# ------------------------------------------------------------------------- credentials


def test_require_credentials_names_each_missing_piece_and_where(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[profiles.a]\nclient_id = "cid"\nclient_secret_env = "NOPE"\n')
    settings = load(path, profile="a")
    with pytest.raises(ConfigError) as info:
        settings.require_credentials(seller_id=True)
    assert str(info.value) == (
        "Missing credentials: LWA client secret (profile a names env NOPE, which is not set); "
        "refresh token (set SP_API_REFRESH_TOKEN, or refresh_token / refresh_token_env / "
        f"refresh_token_file in profile a of {path}); seller id (set SP_API_SELLER_ID, or "
        f"seller_id / seller_id_env / seller_id_file in profile a of {path})."
    )
    assert info.value.context["missing"] == ["client_secret", "refresh_token", "seller_id"]


def test_require_credentials_without_profile(tmp_path: Path) -> None:
    path = tmp_path / "none.toml"
    settings = load(path, {"LWA_CLIENT_SECRET": SECRET, "SP_API_REFRESH_TOKEN": REFRESH})
    with pytest.raises(ConfigError) as info:
        settings.require_credentials()
    assert str(info.value) == (
        "Missing credentials: LWA client id (set LWA_CLIENT_ID or LWA_APP_ID, or client_id / "
        f"client_id_env / client_id_file in a profile of {path})."
    )


def test_repr_and_describe_never_show_secrets(tmp_path: Path) -> None:
    env = {
        "LWA_CLIENT_ID": "cid",
        "LWA_CLIENT_SECRET": SECRET,
        "SP_API_REFRESH_TOKEN": REFRESH,
    }
    path = write_config(tmp_path, '[profiles.a]\naws_secret_access_key = "AWSSECRETKEY"\n')
    settings = load(path, env, profile="a")
    for text in (repr(settings), str(settings), str(settings.describe())):
        assert SECRET not in text
        assert REFRESH not in text
        assert "AWSSECRETKEY" not in text
    assert "client_secret='***'" in repr(settings)
    assert settings.describe()["client_secret"] == "set (env LWA_CLIENT_SECRET)"
    assert settings.describe()["refresh_token"] == "set (env SP_API_REFRESH_TOKEN)"


def test_half_configured_aws_keys_are_reported(tmp_path: Path) -> None:
    settings = load(
        tmp_path / "none.toml",
        {"LWA_CLIENT_ID": "c", "LWA_CLIENT_SECRET": SECRET, "SP_API_REFRESH_TOKEN": REFRESH},
        overrides={"aws_access_key_id": "AKIA123"},
    )
    assert not settings.sigv4_enabled
    with pytest.raises(ConfigError, match=r"^Missing credentials: aws_secret_access_key \("):
        settings.require_credentials()


def test_unknown_override_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="colour"):
        load(tmp_path / "none.toml", overrides={"colour": "red"})
