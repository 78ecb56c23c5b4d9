"""Module configurations on real SQLite and PostgreSQL: secrets encrypted at rest, masked in
listings, a wrong ``PYTAKE_SECRET_KEY`` reported as exactly that."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
import trio.testing

from pytake.config import Settings
from pytake.errors import ModuleConfigError
from pytake.flowrun import ModuleCalls
from pytake.modules import (
    CONFIG_TTL,
    MASK,
    ModuleConfigs,
    ModuleRegistry,
    SecretBox,
)
from pytake.modules.builtin import BoletoModule, RestApiModule, WebhookModule
from pytake.store import Database, ModuleConfiguration, ModuleRecord

KEY = "k" * 16 + secrets.token_hex(16)
OTHER_KEY = "o" * 16 + secrets.token_hex(16)
TOKEN = "tok_" + secrets.token_hex(12)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    async with Database(url) as db:
        yield db


@pytest.fixture
def tenant() -> str:
    # The PostgreSQL database is shared by the whole run: a tenant per test keeps them apart.
    return "t_" + secrets.token_hex(4)


def registry() -> ModuleRegistry:
    return ModuleRegistry([RestApiModule(), BoletoModule(), WebhookModule()])


# --- SecretBox -----------------------------------------------------------------------------------


def test_secret_box_round_trips_and_authenticates() -> None:
    box = SecretBox(KEY)
    blob = box.encrypt(b"hello", context="a")
    assert blob.startswith(b"PTS1") and b"hello" not in blob
    assert box.decrypt(blob, context="a") == b"hello"
    assert box.encrypt(b"hello", context="a") != blob  # a fresh nonce every time
    assert box.decrypt_json(box.encrypt_json({"k": [1]}, context="j"), context="j") == {"k": [1]}
    text = box.encrypt_text("s3cret", context="t")
    assert text.startswith("pts1:") and text.isascii()
    assert box.decrypt_text(text, context="t") == "s3cret"
    assert SecretBox(KEY).key_id == box.key_id != SecretBox(OTHER_KEY).key_id
    assert KEY not in repr(box)

    with pytest.raises(ModuleConfigError, match="altered, or belongs to another record"):
        box.decrypt(blob, context="b")  # bound to its record
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ModuleConfigError, match="altered"):
        box.decrypt(tampered, context="a")
    with pytest.raises(ModuleConfigError, match="not an encrypted value PyTake can read"):
        box.decrypt(b"PTS9" + blob[4:], context="a")
    with pytest.raises(ModuleConfigError, match="not an encrypted value"):
        box.decrypt_text("plain secret", context="t")


def test_a_wrong_key_is_reported_as_such() -> None:
    blob = SecretBox(KEY).encrypt(b"x", context="a")
    other = SecretBox(OTHER_KEY)
    with pytest.raises(ModuleConfigError) as info:
        other.decrypt(blob, context="a", what="the secrets of rest_api/default")
    message = str(info.value)
    assert message.startswith(
        "the secrets of rest_api/default was encrypted with a different PYTAKE_SECRET_KEY"
    )
    assert SecretBox(KEY).key_id in message and other.key_id in message
    assert KEY not in message and OTHER_KEY not in message


def test_the_key_must_be_set_and_long_enough() -> None:
    with pytest.raises(ModuleConfigError, match="PYTAKE_SECRET_KEY is not set"):
        SecretBox.from_settings(Settings())
    with pytest.raises(ModuleConfigError, match="at least 32 bytes"):
        SecretBox("short")
    assert SecretBox.from_settings(Settings(secret_key=KEY)).key_id == SecretBox(KEY).key_id


# --- configurations in the database ----------------------------------------------------------


async def test_secrets_are_encrypted_at_rest_and_masked_in_listings(
    database: Database, tenant: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    configs = ModuleConfigs(database, registry(), SecretBox(KEY))
    view = await configs.save(
        "rest_api",
        {"base_url": "https://api.example.com", "bearer_token": TOKEN, "timeout": 3},
        tenant_key=tenant,
    )
    assert view.config == {"base_url": "https://api.example.com", "bearer_token": MASK,
                           "timeout": 3}  # fmt: skip
    assert view.secrets_set == ("bearer_token",)

    # At rest: the plain fields in JSON, the token nowhere in clear.
    row = await database.run(_raw_row, "rest_api", tenant)
    assert row.config == {"base_url": "https://api.example.com", "timeout": 3}
    assert row.secrets_encrypted is not None and row.secrets_encrypted.startswith(b"PTS1")
    assert TOKEN.encode() not in row.secrets_encrypted

    loaded = await configs.load("rest_api", tenant_key=tenant)
    assert loaded == {
        "base_url": "https://api.example.com",
        "bearer_token": TOKEN,
        "timeout": 3,
        "api_key_header": "X-API-Key",  # a default, filled in when loaded
    }
    got = await configs.get("rest_api", tenant_key=tenant)
    assert got is not None and got.config["bearer_token"] == MASK
    listed = [v for v in await configs.list("rest_api") if v.tenant_key == tenant]
    assert [v.config["bearer_token"] for v in listed] == [MASK]
    assert TOKEN not in caplog.text


async def test_a_wrong_key_gives_a_clear_error_and_listings_still_work(
    database: Database, tenant: str
) -> None:
    await ModuleConfigs(database, registry(), SecretBox(KEY)).save(
        "rest_api", {"bearer_token": TOKEN}, tenant_key=tenant
    )
    wrong = ModuleConfigs(database, registry(), SecretBox(OTHER_KEY))
    with pytest.raises(ModuleConfigError) as info:
        await wrong.load("rest_api", tenant_key=tenant)
    assert (
        f"the secrets of module configuration rest_api/{tenant} was encrypted with a "
        "different PYTAKE_SECRET_KEY" in str(info.value)
    )
    assert info.value.module == "rest_api"
    # Listings need no key; without the right one, every secret field reads as set.
    view = await wrong.get("rest_api", tenant_key=tenant)
    assert view is not None and view.config == {"bearer_token": MASK, "api_key": MASK}

    # Without any key, secrets can be neither stored nor read; plain configurations can.
    keyless = ModuleConfigs(database, registry(), None)
    with pytest.raises(ModuleConfigError, match="PYTAKE_SECRET_KEY is not set"):
        await keyless.load("rest_api", tenant_key=tenant)
    with pytest.raises(ModuleConfigError, match="PYTAKE_SECRET_KEY is not set"):
        await keyless.save("rest_api", {"api_key": "abcd"}, tenant_key=tenant)
    await keyless.save("rest_api", {"timeout": 1}, tenant_key=tenant + "_plain")
    assert (await keyless.load("rest_api", tenant_key=tenant + "_plain"))["timeout"] == 1


async def test_a_secret_copied_into_another_record_does_not_decrypt(
    database: Database, tenant: str
) -> None:
    configs = ModuleConfigs(database, registry(), SecretBox(KEY))
    await configs.save("rest_api", {"bearer_token": TOKEN}, tenant_key=tenant)
    await configs.save("rest_api", {"bearer_token": "other"}, tenant_key=tenant + "_b")
    await database.run(_copy_secrets, "rest_api", tenant, tenant + "_b")
    with pytest.raises(ModuleConfigError, match="altered, or belongs to another record"):
        await configs.load("rest_api", tenant_key=tenant + "_b")


async def test_update_keeps_masked_secrets_and_validation_names_the_field(
    database: Database, tenant: str
) -> None:
    configs = ModuleConfigs(database, registry(), SecretBox(KEY))
    with pytest.raises(ModuleConfigError) as info:
        await configs.save("boleto", {"path": "/x"}, tenant_key=tenant)
    assert info.value.field == "base_url" and "'base_url' is required" in str(info.value)
    with pytest.raises(ModuleConfigError) as info:
        await configs.save("boleto", {"base_url": "https://b", "max_slips": "3"}, tenant_key=tenant)
    assert info.value.field == "max_slips"

    await configs.save(
        "boleto", {"base_url": "https://billing.test", "api_token": TOKEN}, tenant_key=tenant
    )
    # An edit form sends the listing back with a change: the masked secret stays.
    view = await configs.get("boleto", tenant_key=tenant)
    assert view is not None
    await configs.save("boleto", {**view.config, "max_slips": 1}, tenant_key=tenant)
    loaded = await configs.load("boleto", tenant_key=tenant)
    assert loaded["api_token"] == TOKEN and loaded["max_slips"] == 1
    await configs.update("boleto", {"send_pdf": False, "api_token": MASK}, tenant_key=tenant)
    loaded = await configs.load("boleto", tenant_key=tenant)
    assert (loaded["send_pdf"], loaded["api_token"]) == (False, TOKEN)
    await configs.update("boleto", {"api_token": None}, tenant_key=tenant)
    loaded = await configs.load("boleto", tenant_key=tenant)
    assert "api_token" not in loaded
    row = await database.run(_raw_row, "boleto", tenant)
    assert row.secrets_encrypted is None
    with pytest.raises(ModuleConfigError, match="masked"):
        await configs.save(
            "boleto", {"base_url": "https://b", "api_token": MASK}, tenant_key=tenant + "_new"
        )


async def test_missing_configurations_and_deletion(database: Database, tenant: str) -> None:
    configs = ModuleConfigs(database, registry(), SecretBox(KEY))
    with pytest.raises(ModuleConfigError) as info:
        await configs.load("boleto", tenant_key=tenant)
    assert f"no configuration is stored for tenant {tenant!r}" in str(info.value)
    # A module with no required field works on its defaults.
    assert (await configs.load("webhook", tenant_key=tenant))["max_attempts"] == 5
    await configs.save("boleto", {"base_url": "https://b"}, tenant_key=tenant)
    assert await configs.delete("boleto", tenant_key=tenant)
    assert not await configs.delete("boleto", tenant_key=tenant)
    assert await configs.get("boleto", tenant_key=tenant) is None


async def test_module_records_and_the_enabled_switch(database: Database) -> None:
    configs = ModuleConfigs(database, registry(), SecretBox(KEY))
    await configs.sync_records()
    await configs.sync_records()  # idempotent
    rows = await database.run(_records)
    assert {"rest_api", "boleto", "webhook"} <= set(rows)
    assert rows["boleto"][0] == BoletoModule.version
    assert rows["boleto"][1]["actions"][0]["name"] == "second_copy"
    await configs.set_enabled("boleto", True)
    assert await configs.is_enabled("boleto")
    await configs.sync_records()  # keeps the administrator's switch
    assert await configs.is_enabled("boleto")
    await configs.set_enabled("boleto", False)
    try:
        assert not await configs.is_enabled("boleto")
    finally:  # the database is shared by the run, and a switched-off module is not called
        await configs.set_enabled("boleto", True)


def _raw_row(session: sa.orm.Session, module: str, tenant: str) -> ModuleConfiguration:
    return session.execute(
        sa.select(ModuleConfiguration)
        .join(ModuleRecord, ModuleRecord.id == ModuleConfiguration.module_id)
        .where(ModuleRecord.name == module, ModuleConfiguration.tenant_key == tenant)
    ).scalar_one()


def _copy_secrets(session: sa.orm.Session, module: str, source: str, target: str) -> None:
    blob = _raw_row(session, module, source).secrets_encrypted
    _raw_row(session, module, target).secrets_encrypted = blob


def _records(session: sa.orm.Session) -> dict[str, tuple[str, dict[str, object]]]:
    return {
        r.name: (r.version, r.manifest) for r in session.scalars(sa.select(ModuleRecord))
    }


async def test_loaded_configurations_are_reused_for_a_while(
    database: Database, tenant: str, mock_clock: trio.testing.MockClock
) -> None:
    configs = ModuleConfigs(database, registry(), SecretBox(KEY))
    await configs.save("rest_api", {"timeout": 3}, tenant_key=tenant)
    assert (await configs.load("rest_api", tenant_key=tenant))["timeout"] == 3

    # Changed behind its back (another node): the copy it read is used for CONFIG_TTL s.
    other = ModuleConfigs(database, registry(), SecretBox(KEY))
    await other.save("rest_api", {"timeout": 7}, tenant_key=tenant)
    loaded = await configs.load("rest_api", tenant_key=tenant)
    assert loaded["timeout"] == 3
    loaded["timeout"] = 99  # a caller's copy: the reused configuration is not changed
    assert (await configs.load("rest_api", tenant_key=tenant))["timeout"] == 3
    mock_clock.jump(CONFIG_TTL + 0.1)
    assert (await configs.load("rest_api", tenant_key=tenant))["timeout"] == 7

    # Its own changes apply at once, and so does a missing configuration's error.
    await configs.save("rest_api", {"timeout": 9}, tenant_key=tenant)
    assert (await configs.load("rest_api", tenant_key=tenant))["timeout"] == 9
    with pytest.raises(ModuleConfigError, match="no configuration is stored"):
        await configs.load("boleto", tenant_key=tenant)
    with pytest.raises(ModuleConfigError, match="no configuration is stored"):
        await configs.load("boleto", tenant_key=tenant)  # reused, raised afresh
    await configs.delete("rest_api", tenant_key=tenant)
    assert (await configs.load("rest_api", tenant_key=tenant))["timeout"] != 9


async def test_a_module_switched_off_is_not_called(database: Database) -> None:
    calls = ModuleCalls(database, KEY)
    try:
        configs = calls.configs
        name = "crm_lookup"
        await configs.set_enabled(name, True)
        assert await configs.is_enabled(name)  # installed modules run unless switched off
        await configs.set_enabled(name, False)
        assert not await configs.is_enabled(name)
        result = await calls(name, "lookup", {}, 5.0, {"tenant": "default"})
        assert (result.outcome, result.error) == (
            "error", f"module {name} is disabled by an administrator"
        )
        await configs.set_enabled(name, True)
        result = await calls(name, "lookup", {}, 5.0, {"tenant": "default"})
        assert "disabled" not in result.error
    finally:
        await calls.aclose()


async def test_a_module_never_recorded_counts_as_enabled(database: Database) -> None:
    configs = ModuleConfigs(database, registry(), SecretBox(KEY))
    assert await configs.is_enabled("module-" + secrets.token_hex(4))
