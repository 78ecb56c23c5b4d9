"""The WhatsApp Cloud API boundary: signed webhooks in, Cloud API calls out.

- ``_signature``: ``X-Hub-Signature-256`` and the handshake token, constant-time.
- ``_events``, ``_parse``, ``_status``: the pure parser (bytes in, typed events out), the
  delivery-status order and the error-code policy table; no I/O, so the protocol corpus runs
  in milliseconds.
- ``_inbox``: webhook bodies stored before the 200, processed in order into customers,
  conversations, messages and statuses, and journaled to ConversationActors.
- ``_outbound``, ``_window``, ``_client``, ``_governor``, ``_outbox``: building and validating
  messages, the 24-hour window, the HTTP client, pacing and error reactions, and the
  transactional outbox that sends each message at most once.
- ``_media``, ``_templates``: inbound media downloads, the template catalogue.
- ``sim``: a local stand-in for the Cloud API and a customer simulator (tests, demo,
  benchmarks).
"""

from ._client import CloudApiClient, MediaInfo, SendResult
from ._events import (
    ApiError,
    ButtonReply,
    Contact,
    Edit,
    FieldChange,
    FlowReply,
    InboundMessage,
    ListReply,
    Location,
    Media,
    MessageContext,
    Notification,
    Order,
    OrderItem,
    ParseProblem,
    Reaction,
    Referral,
    RequestWelcome,
    Revoke,
    SharedContacts,
    StatusUpdate,
    System,
    TemplateButton,
    TemplateStatusUpdate,
    Text,
    Unsupported,
    ValueErrors,
)
from ._governor import SendGovernor
from ._media import MediaDownloader, MediaRequest, StoredMedia
from ._outbound import (
    Button,
    Header,
    ListRow,
    ListSection,
    list_message,
    mark_read_body,
    media_message,
    normalize_recipient,
    reaction_message,
    reply_buttons_message,
    template_message,
    text_message,
)
from ._outbox import OutboxSender, reconcile_sending
from ._parse import InvalidNotification, parse_notification, sanitize_filename
from ._signature import sign, signature_problem, verify_token_matches
from ._status import ERROR_POLICY, STATUS_RANK, ErrorPolicy, advance, error_policy, implied
from ._templates import TemplateCatalogue
from ._window import WINDOW_SECONDS, check_window, window_open

__all__ = [
    "ERROR_POLICY",
    "STATUS_RANK",
    "WINDOW_SECONDS",
    "ApiError",
    "Button",
    "ButtonReply",
    "CloudApiClient",
    "Contact",
    "Edit",
    "ErrorPolicy",
    "FieldChange",
    "FlowReply",
    "Header",
    "InboundMessage",
    "InvalidNotification",
    "ListReply",
    "ListRow",
    "ListSection",
    "Location",
    "Media",
    "MediaDownloader",
    "MediaInfo",
    "MediaRequest",
    "MessageContext",
    "Notification",
    "Order",
    "OrderItem",
    "OutboxSender",
    "ParseProblem",
    "Reaction",
    "Referral",
    "RequestWelcome",
    "Revoke",
    "SendGovernor",
    "SendResult",
    "SharedContacts",
    "StatusUpdate",
    "StoredMedia",
    "System",
    "TemplateButton",
    "TemplateCatalogue",
    "TemplateStatusUpdate",
    "Text",
    "Unsupported",
    "ValueErrors",
    "advance",
    "check_window",
    "error_policy",
    "implied",
    "list_message",
    "mark_read_body",
    "media_message",
    "normalize_recipient",
    "parse_notification",
    "reaction_message",
    "reconcile_sending",
    "reply_buttons_message",
    "sanitize_filename",
    "sign",
    "signature_problem",
    "template_message",
    "text_message",
    "verify_token_matches",
    "window_open",
]
