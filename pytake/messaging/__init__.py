"""Messages between the WhatsApp Cloud API and the actors: the pipelines around the protocol.

- ``_inbox``, ``_inbox_bulk``: webhook bodies stored before the 200, processed in order into
  customers, conversations, messages and statuses, and journaled to ConversationActors.
- ``_client``, ``_governor``, ``_outbox``: the Cloud API's HTTP client, pacing and error
  reactions, and the transactional outbox that sends each message at most once.
- ``_media``, ``_templates``: inbound media downloads, the template catalogue.
- ``_numbers``: business numbers added, paused and removed at run time, with their tokens.
- ``_metrics``: the inbound side's Prometheus metrics.
- ``_repo``: the SQL of ``_inbox``, ``_outbox`` and ``_numbers``, one module each; the
  pipelines keep their rules and transactions.

The protocol itself (parsing, building, limits, signatures) is `pytake.whatsapp`.
"""

from ._client import CloudApiClient, MediaInfo, SendResult, is_retryable
from ._governor import Outcome, SendGovernor
from ._inbox import STORE_INBOX, InboxOutcome, InboxProcessor
from ._media import (
    MEDIA_LIMITS,
    MEDIA_MESSAGE_TYPES,
    UPLOAD_TYPES,
    MediaDownloader,
    MediaRequest,
    StoredMedia,
    content_type_of,
    extension_for,
    media_filename,
    media_reference,
    remove_stored_media,
    sha256_matches,
    stored_media_path,
    upload_media_type,
)
from ._metrics import WebhookMetrics
from ._numbers import (
    InvalidNumber,
    NumberBook,
    NumberConflict,
    NumberError,
    NumberNotFound,
    NumberRecord,
    NumberRepository,
    Sealer,
    access_token_context,
    number_fields,
)
from ._outbox import (
    UNKNOWN_AFTER_RESTART,
    OutboxRow,
    OutboxSender,
    SendReport,
    outbox_id_from_callback,
    reconcile_sending,
)
from ._templates import TemplateCatalogue

__all__ = [
    "MEDIA_LIMITS",
    "MEDIA_MESSAGE_TYPES",
    "STORE_INBOX",
    "UNKNOWN_AFTER_RESTART",
    "UPLOAD_TYPES",
    "CloudApiClient",
    "InboxOutcome",
    "InboxProcessor",
    "InvalidNumber",
    "MediaDownloader",
    "MediaInfo",
    "MediaRequest",
    "NumberBook",
    "NumberConflict",
    "NumberError",
    "NumberNotFound",
    "NumberRecord",
    "NumberRepository",
    "OutboxRow",
    "OutboxSender",
    "Outcome",
    "Sealer",
    "SendGovernor",
    "SendReport",
    "SendResult",
    "StoredMedia",
    "TemplateCatalogue",
    "WebhookMetrics",
    "access_token_context",
    "content_type_of",
    "extension_for",
    "is_retryable",
    "media_filename",
    "media_reference",
    "number_fields",
    "outbox_id_from_callback",
    "reconcile_sending",
    "remove_stored_media",
    "sha256_matches",
    "stored_media_path",
    "upload_media_type",
]
