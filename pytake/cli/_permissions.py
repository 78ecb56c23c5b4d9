"""What each command-line action amounts to, in the API's permissions.

The command line checks no token: it runs with the database's own credentials, so whoever may
run it holds every permission below.  The table says what granting shell access grants, and
docs/auth.md prints it beside the routes' matrix; a test fails when an action is missing.
"""

from __future__ import annotations

from typing import Final

from pytake.web import Permission

__all__ = ["CLI_PERMISSIONS"]

#: ``"command action"`` → the permission its REST twin needs (or, without a twin, the
#: installation's own).
CLI_PERMISSIONS: Final[dict[str, Permission]] = {
    "serve": Permission.INSTALLATION_OPERATE,
    "db upgrade": Permission.INSTALLATION_OPERATE,
    "db current": Permission.INSTALLATION_OPERATE,
    "audit verify": Permission.AUDIT_READ,
    "users create": Permission.USERS_MANAGE,
    "users list": Permission.USERS_MANAGE,
    "users invite": Permission.USERS_MANAGE,
    "users role": Permission.USERS_MANAGE,
    "users deactivate": Permission.USERS_MANAGE,
    "users reactivate": Permission.USERS_MANAGE,
    "users reset-password": Permission.USERS_MANAGE,
    "users reset-2fa": Permission.USERS_MANAGE,
    "flows validate": Permission.FLOWS_READ,
    "flows import": Permission.FLOWS_WRITE,
    "flows export": Permission.FLOWS_READ,
    "flows simulate": Permission.FLOWS_READ,
    "modules list": Permission.MODULES_MANAGE,
    "modules show": Permission.MODULES_MANAGE,
    "modules configure": Permission.MODULES_MANAGE,
    "modules remove": Permission.MODULES_MANAGE,
    "modules enable": Permission.MODULES_MANAGE,
    "modules disable": Permission.MODULES_MANAGE,
    "whatsapp-sim serve": Permission.INSTALLATION_OPERATE,
    "whatsapp-sim customers": Permission.INSTALLATION_OPERATE,
    # Demo accounts (users), teams, flows and settings: the installation's own, as `serve`.
    "demo": Permission.INSTALLATION_OPERATE,
    # Every stored secret, sealed under the installation's keys.
    "secrets status": Permission.INSTALLATION_OPERATE,
    "secrets rotate": Permission.INSTALLATION_OPERATE,
    # Customers' rights (LGPD): their REST twins are /api/v1/customers and /data-requests.
    "customers find": Permission.CUSTOMERS_MANAGE,
    "customers export": Permission.CUSTOMERS_MANAGE,
    "customers anonymise": Permission.CUSTOMERS_MANAGE,
    "customers erase": Permission.CUSTOMERS_MANAGE,
    "customers requests": Permission.CUSTOMERS_MANAGE,
    "customers resume": Permission.CUSTOMERS_MANAGE,
}
