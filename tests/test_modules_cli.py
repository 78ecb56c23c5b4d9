"""``pytake modules`` run as a real subprocess against real SQLite and PostgreSQL databases:
listing, configuring (secrets from stdin, encrypted at rest, masked), removing, switching."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import trio

from pytake.modules import ModuleConfigs, ModuleRegistry, SecretBox
from pytake.store import Database, ModuleConfiguration, ModuleRecord

from ._support import clean_environ

KEY = "k" * 16 + secrets.token_hex(16)
BUILTINS = ("boleto", "crm_lookup", "rest_api", "webhook")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def tenant() -> str:
    # The PostgreSQL database is shared by the whole run: a tenant per test keeps them apart.
    return "t_" + secrets.token_hex(6)


def pytake(
    tmp_path: Path,
    url: str,
    *args: str,
    key: str | None = KEY,
    stdin: str = "",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environ = clean_environ(tmp_path) | {"PYTAKE_DATABASE_URL": url} | (env or {})
    if key is not None:
        environ["PYTAKE_SECRET_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "pytake", "modules", *args],
        env=environ,
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stored_row(url: str, module: str, tenant: str) -> tuple[dict[str, Any], bytes | None] | None:
    """The raw ``module_configurations`` row: plain config and the encrypted blob."""

    async def read() -> tuple[dict[str, Any], bytes | None] | None:
        async with Database(url) as db:

            def query(session: Any) -> tuple[dict[str, Any], bytes | None] | None:
                row = session.execute(
                    sa.select(ModuleConfiguration.config, ModuleConfiguration.secrets_encrypted)
                    .join(ModuleRecord, ModuleRecord.id == ModuleConfiguration.module_id)
                    .where(ModuleRecord.name == module, ModuleConfiguration.tenant_key == tenant)
                ).first()
                return None if row is None else (dict(row[0]), row[1])

            return await db.run(query)

    return trio.run(read)


def loaded(url: str, module: str, tenant: str) -> dict[str, Any]:
    """The configuration a module call would get (secrets decrypted), through the library."""

    async def load() -> dict[str, Any]:
        registry = ModuleRegistry.discover()
        try:
            async with Database(url) as db:
                return await ModuleConfigs(db, registry, SecretBox(KEY)).load(
                    module, tenant_key=tenant
                )
        finally:
            await registry.aclose()

    return trio.run(load)


def test_list_prints_modules_fields_and_actions(db_url: str, tmp_path: Path) -> None:
    result = pytake(tmp_path, db_url, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in BUILTINS:
        assert any(line.startswith(f"{name}  1.0.0  enabled: ") for line in lines), name
    text = result.stdout
    assert "bearer_token    (string, secret) - sent as Bearer token" in text
    assert "base_url        (url, required) - billing API" in text  # boleto's
    assert "second_copy" in text and "lookup" in text and "notify" in text
    assert "call  Send an HTTP request" in text

    as_json = pytake(tmp_path, db_url, "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    listing = json.loads(as_json.stdout)
    modules = {m["name"]: m for m in listing["modules"]}
    assert set(BUILTINS) <= set(modules)
    rest = modules["rest_api"]
    assert rest["version"] == "1.0.0" and isinstance(rest["enabled"], bool)
    fields = {f["name"]: f for f in rest["manifest"]["config"]}
    assert fields["bearer_token"]["secret"] and fields["api_key"]["secret"]
    assert not fields["base_url"]["secret"] and not fields["base_url"]["required"]
    assert {f["name"]: f["required"] for f in modules["crm_lookup"]["manifest"]["config"]}[
        "mapping"
    ]
    assert [a["name"] for a in rest["manifest"]["actions"]] == ["call"]
    assert listing["skipped"] == []


def test_configure_with_a_secret_from_stdin_stores_it_encrypted_and_shows_it_masked(
    db_url: str, tmp_path: Path, tenant: str
) -> None:
    secret = "tok_" + secrets.token_hex(12)
    result = pytake(
        tmp_path, db_url, "configure", "rest_api", "--tenant", tenant,
        "--set", "base_url=https://api.example.com/v1", "--set", "timeout=5",
        "--set", 'headers={"X-Tenant": "acme"}', "--set", "api_key_header=123",
        "--set-secret", "bearer_token",
        stdin=secret + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    assert '"***"' in result.stdout and tenant in result.stdout

    shown = pytake(tmp_path, db_url, "show", "rest_api", "--tenant", tenant, "--json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["module"] == "rest_api" and view["tenant"] == tenant
    assert view["config"] == {
        "base_url": "https://api.example.com/v1",
        "timeout": 5,  # JSON: a number
        "headers": {"X-Tenant": "acme"},  # JSON: an object
        "api_key_header": "123",  # a text field keeps the text
        "bearer_token": "***",
    }
    assert view["secrets_set"] == ["bearer_token"]
    text = pytake(tmp_path, db_url, "show", "rest_api", "--tenant", tenant)
    assert text.returncode == 0, text.stderr
    assert 'bearer_token    "***"' in text.stdout and secret not in text.stdout

    # At rest: the plain fields as JSON, the secret only inside the encrypted blob.
    row = stored_row(db_url, "rest_api", tenant)
    assert row is not None
    config, blob = row
    assert "bearer_token" not in config and secret not in json.dumps(config)
    assert blob is not None and blob.startswith(b"PTS1") and secret.encode() not in blob
    # ... and it is the secret that was typed, as a module call would get it.
    assert loaded(db_url, "rest_api", tenant)["bearer_token"] == secret

    # A partial update keeps the other fields, the secret included.
    again = pytake(tmp_path, db_url, "configure", "rest_api", "--tenant", tenant,
                   "--set", "timeout=7.5", "--set", "headers=null")
    assert again.returncode == 0, again.stderr
    after = loaded(db_url, "rest_api", tenant)
    assert after["timeout"] == 7.5 and after["bearer_token"] == secret
    assert "headers" not in after  # null unsets a field

    # --replace stores exactly what is given (from a file, a secret from the environment).
    document = tmp_path / "rest.json"
    document.write_text(json.dumps({"base_url": "https://other.example.com"}))
    env_secret = "env_" + secrets.token_hex(8)
    replaced = pytake(tmp_path, db_url, "configure", "rest_api", "--tenant", tenant,
                      "--replace", "--file", str(document),
                      "--set-secret-env", "api_key=MODULE_API_KEY",
                      env={"MODULE_API_KEY": env_secret})
    assert replaced.returncode == 0, replaced.stderr
    assert env_secret not in replaced.stdout + replaced.stderr
    final = json.loads(
        pytake(tmp_path, db_url, "show", "rest_api", "--tenant", tenant, "--json").stdout
    )
    assert final["config"] == {"base_url": "https://other.example.com", "api_key": "***"}
    assert final["secrets_set"] == ["api_key"]
    assert loaded(db_url, "rest_api", tenant)["api_key"] == env_secret


def test_a_validation_error_names_the_field_and_stores_nothing(
    db_url: str, tmp_path: Path, tenant: str
) -> None:
    wrong = pytake(tmp_path, db_url, "configure", "rest_api", "--tenant", tenant,
                   "--set", "timeout=soon")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("pytake: error: ")
    assert "configuration field 'timeout' must be a number" in wrong.stderr
    unknown = pytake(tmp_path, db_url, "configure", "rest_api", "--tenant", tenant,
                     "--set", "colour=blue")
    assert unknown.returncode == 1 and "unknown configuration field 'colour'" in unknown.stderr
    missing = pytake(tmp_path, db_url, "configure", "crm_lookup", "--tenant", tenant,
                     "--set", 'mapping={"name": "full_name"}')
    assert missing.returncode == 1
    assert "configuration field 'base_url' is required" in missing.stderr
    for module in ("rest_api", "crm_lookup"):
        assert stored_row(db_url, module, tenant) is None
    malformed = pytake(tmp_path, db_url, "configure", "rest_api", "--set", "timeout")
    assert malformed.returncode == 1 and "--set expects KEY=VALUE" in malformed.stderr


def test_an_unknown_module_is_refused_naming_the_installed_ones(
    db_url: str, tmp_path: Path
) -> None:
    for args in (
        ("show", "nope"),
        ("configure", "nope", "--set", "a=1"),
        ("remove", "nope"),
        ("enable", "nope"),
        ("disable", "nope"),
    ):
        result = pytake(tmp_path, db_url, *args)
        assert result.returncode == 1, args
        assert result.stderr == (
            "pytake: error: unknown module 'nope' (installed modules: "
            "boleto, crm_lookup, rest_api, webhook)\n"
        ), args


def test_without_the_secret_key_a_secret_is_refused_saying_so(
    db_url: str, tmp_path: Path, tenant: str
) -> None:
    secret = "tok_" + secrets.token_hex(12)
    result = pytake(tmp_path, db_url, "configure", "rest_api", "--tenant", tenant,
                    "--set", "timeout=3", "--set-secret", "bearer_token",
                    stdin=secret + "\n", key=None)
    assert result.returncode == 1
    assert result.stderr == (
        f"pytake: error: rest_api/{tenant}: PYTAKE_SECRET_KEY is not set, so the module's "
        "secrets cannot be encrypted or read; set it (at least 32 bytes, the same on every "
        "node)\n"
    )
    assert stored_row(db_url, "rest_api", tenant) is None
    # Plain fields need no key.
    plain = pytake(tmp_path, db_url, "configure", "rest_api", "--tenant", tenant,
                   "--set", "timeout=3", key=None)
    assert plain.returncode == 0, plain.stderr
    assert stored_row(db_url, "rest_api", tenant) == ({"timeout": 3}, None)


def test_set_secret_needs_a_line_on_stdin(db_url: str, tmp_path: Path, tenant: str) -> None:
    result = pytake(tmp_path, db_url, "configure", "rest_api", "--tenant", tenant,
                    "--set-secret", "bearer_token", stdin="")
    assert result.returncode == 1
    assert "--set-secret bearer_token: no value on stdin" in result.stderr
    assert stored_row(db_url, "rest_api", tenant) is None


def test_remove_deletes_the_configuration(db_url: str, tmp_path: Path, tenant: str) -> None:
    none = pytake(tmp_path, db_url, "show", "webhook", "--tenant", tenant)
    assert none.returncode == 1
    assert f"no configuration of module webhook is stored for tenant {tenant!r}" in none.stderr
    stored = pytake(tmp_path, db_url, "configure", "webhook", "--tenant", tenant,
                    "--set", "max_attempts=2")
    assert stored.returncode == 0, stored.stderr
    assert stored_row(db_url, "webhook", tenant) == ({"max_attempts": 2}, None)
    listed = json.loads(pytake(tmp_path, db_url, "list", "--json").stdout)
    webhook = next(m for m in listed["modules"] if m["name"] == "webhook")
    assert tenant in webhook["tenants"]

    removed = pytake(tmp_path, db_url, "remove", "webhook", "--tenant", tenant)
    assert removed.returncode == 0, removed.stderr
    assert f"removed the configuration of webhook for tenant {tenant!r}" in removed.stdout
    assert stored_row(db_url, "webhook", tenant) is None
    assert pytake(tmp_path, db_url, "show", "webhook", "--tenant", tenant).returncode == 1
    twice = pytake(tmp_path, db_url, "remove", "webhook", "--tenant", tenant)
    assert twice.returncode == 1
    assert "nothing was removed" in twice.stderr


def test_enable_and_disable_flip_the_switch(db_url: str, tmp_path: Path) -> None:
    def enabled() -> tuple[bool, str]:
        as_json = json.loads(pytake(tmp_path, db_url, "list", "--json").stdout)
        on = next(m["enabled"] for m in as_json["modules"] if m["name"] == "crm_lookup")
        text = pytake(tmp_path, db_url, "list").stdout
        line = next(ln for ln in text.splitlines() if ln.startswith("crm_lookup  "))
        return on, line

    try:
        off = pytake(tmp_path, db_url, "disable", "crm_lookup")
        assert off.returncode == 0, off.stderr
        assert off.stdout == "pytake: module crm_lookup disabled\n"
        assert enabled() == (False, "crm_lookup  1.0.0  enabled: no")
    finally:
        on = pytake(tmp_path, db_url, "enable", "crm_lookup")
    assert on.returncode == 0, on.stderr
    assert on.stdout == "pytake: module crm_lookup enabled\n"
    assert enabled() == (True, "crm_lookup  1.0.0  enabled: yes")


def test_reading_asks_for_a_migration_and_writing_migrates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    listed = pytake(tmp_path, url, "list")
    assert listed.returncode == 1
    assert "the database schema is not current; run 'pytake db upgrade'" in listed.stderr
    assert not (tmp_path / "fresh.db").exists()
    stored = pytake(tmp_path, url, "configure", "rest_api", "--set", "timeout=2",
                    "--database-url", url)
    assert stored.returncode == 0, stored.stderr
    assert "migrated to" in stored.stderr
    assert stored_row(url, "rest_api", "default") == ({"timeout": 2}, None)
    assert pytake(tmp_path, url, "list").returncode == 0
