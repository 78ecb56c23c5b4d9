"""The modules PyTake ships, registered through the ``pytake.modules`` entry points like any
third party's (see ``pyproject.toml``):

- ``rest_api``    `RestApiModule`: any REST call, fields of the JSON answer into variables
- ``webhook``     `WebhookModule`: signed event deliveries with retries and a delivery log
- ``crm_lookup``  `CrmLookupModule`: the customer in a CRM by phone, into customer attributes
- ``boleto``      `BoletoModule`: second copy of open bank slips, check digits verified

``_http`` is what the HTTP modules share (a request with its failures classified);
``_febraban`` the pure Brazilian identifiers (digitable lines, CPF, CNPJ).
"""

from pytake.modules.builtin._febraban import (
    DigitableLine,
    InvalidDigitableLine,
    due_factor_for,
    make_digitable_line,
    normalize_document,
    parse_digitable_line,
    valid_cnpj,
    valid_cpf,
)
from pytake.modules.builtin.boleto import BoletoModule
from pytake.modules.builtin.crm_lookup import CrmLookupModule
from pytake.modules.builtin.rest_api import RestApiModule
from pytake.modules.builtin.webhook import (
    DeliveryPolicy,
    DeliveryResult,
    Subscription,
    WebhookEvent,
    WebhookModule,
    sign,
    verify_signature,
)

__all__ = [
    "BoletoModule",
    "CrmLookupModule",
    "DeliveryPolicy",
    "DeliveryResult",
    "DigitableLine",
    "InvalidDigitableLine",
    "RestApiModule",
    "Subscription",
    "WebhookEvent",
    "WebhookModule",
    "due_factor_for",
    "make_digitable_line",
    "normalize_document",
    "parse_digitable_line",
    "sign",
    "valid_cnpj",
    "valid_cpf",
    "verify_signature",
]
