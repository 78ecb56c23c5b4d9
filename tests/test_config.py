"""Settings: sources, precedence, and the error message for each kind of bad value."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytake.config import ActorSettings, Settings, all_settings, load_settings
from pytake.errors import ConfigError, PyTakeError

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pytake.toml"
    path.write_text(text)
    return path


def error_of(*args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(*args, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# --- sources ---------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.log_level) == ("127.0.0.1", 8000, "info")
    assert settings.database_url == "sqlite:///pytake.db"
    assert settings.redis_url is None
    assert settings.actors == ActorSettings(
        idle_timeout=300.0,
        mailbox_size=1000,
        poison_threshold=3,
        drain_deadline=10.0,
        backoff_initial=0.1,
        backoff_max=30.0,
        max_restarts=10,
        restart_period=10.0,
    )


def test_environment() -> None:
    settings = load_settings(
        environ={
            "PYTAKE_HOST": "0.0.0.0",
            "PYTAKE_PORT": " 9000 ",
            "PYTAKE_LOG_LEVEL": "DEBUG",
            "PYTAKE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "PYTAKE_ACTORS__IDLE_TIMEOUT": "60",
            "PYTAKE_ACTORS__MAILBOX_SIZE": "50",
            "UNRELATED": "ignored",
        }
    )
    assert (settings.host, settings.port, settings.log_level) == ("0.0.0.0", 9000, "debug")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.actors.idle_timeout == 60.0
    assert settings.actors.mailbox_size == 50


def test_empty_optional_variable_means_unset() -> None:
    assert load_settings(environ={"PYTAKE_REDIS_URL": ""}).redis_url is None


def test_toml_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'host = "::1"\nport = 8080\n\n[actors]\nidle_timeout = 30\nmax_restarts = 0\n',
    )
    settings = load_settings(path, environ={})
    assert (settings.host, settings.port) == ("::1", 8080)
    assert settings.actors.idle_timeout == 30.0
    assert isinstance(settings.actors.idle_timeout, float)
    assert settings.actors.max_restarts == 0


def test_config_file_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 8081\n")
    assert load_settings(environ={"PYTAKE_CONFIG": str(path)}).port == 8081


def test_explicit_config_file_wins_over_environment(tmp_path: Path) -> None:
    chosen = write(tmp_path, "port = 8082\n")
    assert load_settings(chosen, environ={"PYTAKE_CONFIG": "/nonexistent.toml"}).port == 8082


def test_precedence(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 1001\n[actors]\nmailbox_size = 7\n")
    environ = {"PORT": "1002"}
    assert load_settings(path, environ=environ).port == 1002  # PORT over file
    environ["PYTAKE_PORT"] = "1003"
    assert load_settings(path, environ=environ).port == 1003  # PYTAKE_PORT over PORT
    settings = load_settings(path, environ=environ, overrides={"port": 1004})
    assert settings.port == 1004  # CLI over everything
    assert settings.actors.mailbox_size == 7  # untouched keys keep the file's value
    assert load_settings(path, environ=environ, overrides={"port": None}).port == 1003


def test_reserved_variables_are_not_settings() -> None:
    environ = {"PYTAKE_CONFIG": "", "PYTAKE_TEST_POSTGRES_URL": "postgresql://x"}
    assert load_settings(environ=environ) == Settings()


def test_settings_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


def test_repr_hides_passwords() -> None:
    settings = load_settings(
        environ={
            "PYTAKE_DATABASE_URL": "postgresql://pytake:hunter2@db/pytake",
            "PYTAKE_REDIS_URL": "redis://:hunter2@cache:6379/0",
        }
    )
    assert "hunter2" not in repr(settings)
    assert "postgresql://pytake:***@db/pytake" in repr(settings)
    assert settings.database_url == "postgresql://pytake:hunter2@db/pytake"


@given(st.integers(min_value=1, max_value=65535))
def test_any_valid_port_round_trips(port: int) -> None:
    assert load_settings(environ={"PYTAKE_PORT": str(port)}).port == port


@given(st.integers().filter(lambda n: not 1 <= n <= 65535))
def test_any_invalid_port_is_refused(port: int) -> None:
    with pytest.raises(ConfigError, match="port must be between 1 and 65535"):
        load_settings(environ={"PYTAKE_PORT": str(port)})


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PYTAKE_PORT": "abc"}, "PYTAKE_PORT: expected an integer, got 'abc'"),
        ({"PORT": "eighty"}, "PORT: expected an integer, got 'eighty'"),
        (
            {"PYTAKE_ACTORS__IDLE_TIMEOUT": "soon"},
            "PYTAKE_ACTORS__IDLE_TIMEOUT: expected a number, got 'soon'",
        ),
        (
            {"PYTAKE_ACTORS__IDLE_TIMEOUT": "inf"},
            "PYTAKE_ACTORS__IDLE_TIMEOUT: expected a number, got 'inf'",
        ),
        ({"PYTAKE_PROT": "1"}, "unknown setting PYTAKE_PROT (did you mean PYTAKE_PORT?)"),
        (
            {"PYTAKE_ACTORS_IDLE_TIMEOUT": "1"},
            "unknown setting PYTAKE_ACTORS_IDLE_TIMEOUT"
            " (did you mean PYTAKE_ACTORS__IDLE_TIMEOUT?)",
        ),
        ({"PYTAKE_XYZZY": "1"}, "unknown setting PYTAKE_XYZZY"),
        ({"PYTAKE_PORT": "0"}, "PYTAKE_PORT: port must be between 1 and 65535, got 0"),
        ({"PORT": "65536"}, "PORT: port must be between 1 and 65535, got 65536"),
        ({"PYTAKE_HOST": " "}, "PYTAKE_HOST: host must not be empty"),
        (
            {"PYTAKE_LOG_LEVEL": "loud"},
            "PYTAKE_LOG_LEVEL: log_level must be one of critical, error, warning, info, debug,"
            " got 'loud'",
        ),
        (
            {"PYTAKE_ACTORS__MAILBOX_SIZE": "0"},
            "PYTAKE_ACTORS__MAILBOX_SIZE: actors.mailbox_size must be at least 1, got 0",
        ),
        (
            {"PYTAKE_ACTORS__IDLE_TIMEOUT": "-1"},
            "PYTAKE_ACTORS__IDLE_TIMEOUT: actors.idle_timeout must be greater than 0, got -1.0",
        ),
        (
            {"PYTAKE_ACTORS__BACKOFF_MAX": "0.05"},
            "PYTAKE_ACTORS__BACKOFF_MAX: actors.backoff_max must be at least backoff_initial (0.1)",
        ),
        (
            {"PYTAKE_ACTORS__MAX_RESTARTS": "-1"},
            "PYTAKE_ACTORS__MAX_RESTARTS: actors.max_restarts must be at least 0, got -1",
        ),
    ],
)
def test_environment_errors(environ: dict[str, str], message: str) -> None:
    assert error_of(environ=environ) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('port = "abc"\n', "{path}: port: expected an integer, got 'abc'"),
        ("port = true\n", "{path}: port: expected an integer, got True (bool)"),
        ("port = 1.5\n", "{path}: port: expected an integer, got 1.5 (float)"),
        ("host = 1\n", "{path}: host: expected a string, got 1 (int)"),
        ("port = 0\n", "{path}: port: port must be between 1 and 65535, got 0"),
        ("prot = 1\n", "{path}: unknown setting 'prot' (did you mean 'port'?)"),
        (
            "[actors]\nidle_timout = 1\n",
            "{path}: unknown setting 'actors.idle_timout' (did you mean 'actors.idle_timeout'?)",
        ),
        ("actors = 3\n", "{path}: actors: expected a table ([actors]), got 3"),
        ("[telegram]\ntoken = 'x'\n", "{path}: unknown setting 'telegram'"),
        (
            "[actors]\nmailbox_size = 0\n",
            "{path}: actors.mailbox_size: actors.mailbox_size must be at least 1, got 0",
        ),
    ],
)
def test_toml_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    assert error_of(path, environ={}) == message.format(path=path)


def test_unparseable_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'host = "127.0.0.1"\nport = = 8000\n')
    message = error_of(path, environ={})
    assert message.startswith(f"{path}: invalid TOML: ")
    assert "line 2" in message


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert error_of(path, environ={}) == f"config file not found: {path}"
    assert error_of(environ={"PYTAKE_CONFIG": str(path)}) == f"config file not found: {path}"


def test_override_errors() -> None:
    assert error_of(environ={}, overrides={"port": 70000}) == (
        "--port: port must be between 1 and 65535, got 70000"
    )
    assert error_of(environ={}, overrides={"prot": 1}) == "unknown setting 'prot'"


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ConfigError, match="port must be between 1 and 65535, got 0") as info:
        Settings(port=0)
    assert info.value.key == "port"
    with pytest.raises(ConfigError) as info:
        ActorSettings(mailbox_size=0)
    assert info.value.key == "actors.mailbox_size"


def test_config_error_is_a_pytake_error() -> None:
    assert issubclass(ConfigError, PyTakeError)


# --- documentation ---------------------------------------------------------------------------


def test_every_setting_is_documented() -> None:
    """docs/configuration.md has a row per setting, with its env var, key and default."""
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in DOCS.read_text().splitlines()
        if line.startswith("| `")
    }
    documented = {key for key in rows if re.fullmatch(r"[a-z_.]+", key)}
    expected = {setting.key for setting in all_settings()}
    assert documented == expected
    for setting in all_settings():
        row = rows[setting.key]
        assert f"`{setting.env}`" in row, setting.key
        default = "unset" if setting.default is None else str(setting.default)
        assert f"`{default}`" in row, (setting.key, default)


def test_flow_triggers_are_parsed_and_bad_ones_named() -> None:
    from pytake.config import default_flows, keyword_pairs

    assert default_flows("triage, 4200009=vendas") == ("triage", {"4200009": "vendas"})
    assert default_flows("") == ("", {})
    assert keyword_pairs("boleto=boleto, menu = triage") == {"boleto": "boleto",
                                                             "menu": "triage"}
    with pytest.raises(ConfigError, match=r"flows_default.*two default flows"):
        load_settings(environ={"PYTAKE_FLOWS_DEFAULT": "a, b"})
    with pytest.raises(ConfigError, match=r"flows_keywords.*'boleto' is not word=flow"):
        load_settings(environ={"PYTAKE_FLOWS_KEYWORDS": "boleto"})
