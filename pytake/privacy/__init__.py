"""Customers' rights (LGPD): finding a customer, and exporting, anonymising or erasing
everything PyTake holds about them, each leaving a proof report without personal data.

- ``_service``  `PrivacyService`: the steps of each request across PostgreSQL (or SQLite),
                Redis, the media directory and the live actors; resuming requests a crash
                interrupted
- ``_repo``     the SQL: where a customer's data sits, table by table; ``data_requests``
- ``_redact``   taking one customer out of records shared with others (webhook bodies)
- ``_archive``  the export's zip

docs/privacy.md describes what is removed where and how a request behaves when interrupted.
"""

from ._errors import CustomerNotFound, DataRequestFailed, DataRequestNotFound, PrivacyError
from ._repo import CustomerMatch, RequestRow
from ._service import STEP_DELAY_ENV, WATCH_INTERVAL, Export, PrivacyService

__all__ = [
    "STEP_DELAY_ENV",
    "WATCH_INTERVAL",
    "CustomerMatch",
    "CustomerNotFound",
    "DataRequestFailed",
    "DataRequestNotFound",
    "Export",
    "PrivacyError",
    "PrivacyService",
    "RequestRow",
]
