"""The errors of customers' data requests (drawn in `pytake.errors`' tree)."""

from __future__ import annotations

from ..errors import PyTakeError

__all__ = ["CustomerNotFound", "DataRequestFailed", "DataRequestNotFound", "PrivacyError"]


class PrivacyError(PyTakeError):
    """A customer's data request (export, anonymisation, erasure) was refused or failed."""


class CustomerNotFound(PrivacyError, LookupError):
    """No customer has that id (and none was erased under it)."""

    def __init__(self, customer_id: int) -> None:
        super().__init__(f"customer {customer_id} not found")
        self.customer_id = customer_id


class DataRequestNotFound(PrivacyError, LookupError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"data request {request_id} not found")
        self.request_id = request_id


class DataRequestFailed(PrivacyError):
    """A step of a request failed.  ``state`` says what became of the request: ``failed``
    (run it again: every step is idempotent), or ``running`` when even recording the
    failure was impossible (storage unavailable): it is resumed at the next start or by
    ``pytake customers resume``."""

    def __init__(self, request_id: int, state: str, error: str) -> None:
        after = ("it is marked failed; run it again" if state == "failed" else
                 "it is left running and will be resumed at the next start "
                 "(or by 'pytake customers resume')")
        super().__init__(f"data request {request_id} did not finish ({error}); {after}")
        self.request_id = request_id
        self.state = state
        self.error = error
