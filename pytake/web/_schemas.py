"""JSON Schemas of the REST API's bodies and answers, for the OpenAPI document.

The routes name these in their `pytake.web._openapi.documented` declarations; the document
and ``tests/test_openapi.py`` (schemathesis against the live server) keep them true: an answer
that breaks its schema fails the test.  Answers list the members they always carry as
``required`` and allow more (a member added later is not a breaking change).
"""

from __future__ import annotations

from typing import Any, Final

from pytake.web._openapi import PAGE_QUERY, page_of

Schema = dict[str, Any]

STRING: Final[Schema] = {"type": "string"}
INT: Final[Schema] = {"type": "integer"}
BOOL: Final[Schema] = {"type": "boolean"}
OBJECT: Final[Schema] = {"type": "object"}
TIME: Final[Schema] = {"type": "string", "format": "date-time"}
MAYBE_TIME: Final[Schema] = {"type": ["string", "null"], "format": "date-time"}
MAYBE_INT: Final[Schema] = {"type": ["integer", "null"]}
MAYBE_STRING: Final[Schema] = {"type": ["string", "null"]}
STRINGS: Final[Schema] = {"type": "array", "items": STRING}
ROLE: Final[Schema] = {"type": "string", "enum": ["admin", "supervisor", "agent"]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object that always carries ``required`` and may carry ``optional``."""
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}}


def body(fields: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    """A request body: an object of ``fields``."""
    return {"type": "object", "required": list(required), "properties": fields}


# --- auth ------------------------------------------------------------------------------------

CREDENTIALS: Final = body({"email": {"type": "string", "minLength": 1},
                           "password": {"type": "string", "minLength": 1},
                           "totp_code": {"type": "string",
                                         "description": "for an account with a second factor"},
                           "recovery_code": {"type": "string",
                                             "description": "instead of totp_code, once"}},
                          ("email", "password"))
REFRESH: Final = body({"refresh_token": {"type": "string", "minLength": 1}}, ("refresh_token",))
TOKENS: Final = obj({"access_token": STRING, "token_type": STRING, "expires_in": INT,
                     "refresh_token": STRING, "refresh_expires_in": INT})
ME: Final = obj({"id": INT, "email": STRING, "name": STRING, "role": ROLE, "active": BOOL,
                 "created_at": TIME})

# --- ops -------------------------------------------------------------------------------------

STATUS: Final = obj({"status": STRING})
SUPERVISION_QUERY: Final = {"actor_limit": {"type": "integer", "minimum": 0,
                                            "maximum": 10_000}}
DEAD_LETTER: Final = obj({"kind": STRING, "id": STRING, "message_type": STRING,
                          "message": STRING, "error": STRING, "traceback": STRING,
                          "attempts": INT, "at": {"type": "number"}})
DEAD_LETTERS_QUERY: Final = {**PAGE_QUERY, "kind": {"type": "string", "maxLength": 100}}
DEAD_LETTERS: Final = page_of("dead_letters", DEAD_LETTER)

# --- ops: the dashboard (docs/operations.md) ---------------------------------------------------

OPS_NUMBER: Final[Schema] = {"type": "number"}
OPS_MAYBE_NUMBER: Final[Schema] = {"type": ["number", "null"]}
#: Dead letters as the dashboard lists them: with the number their actions take, and
#: whether this process still holds the message to deliver it again.
OPS_DEAD_LETTER: Final = obj({**DEAD_LETTER["properties"], "letter_id": INT,
                              "retryable": BOOL})
OPS_DEAD_LETTERS: Final = page_of("dead_letters", OPS_DEAD_LETTER)
OPS_LATENCY: Final = obj({"count": OPS_NUMBER, "mean": OPS_MAYBE_NUMBER,
                          "p50": OPS_MAYBE_NUMBER,
                          "p95": OPS_MAYBE_NUMBER})
OPS_POINT: Final = obj({
    "at": OPS_NUMBER, "seconds": OPS_NUMBER,
    "rates": {"type": "object", "additionalProperties": OPS_NUMBER},
    "gauges": {"type": "object", "additionalProperties": OPS_MAYBE_NUMBER},
    "latency": {"type": "object", "additionalProperties": OPS_LATENCY},
})
OPS_HOT_SPOT: Final = obj({"id": STRING, "depth": INT, "state": STRING, "restarts": INT})
OPS_KIND: Final = obj({"kind": STRING, "state": STRING, "live": INT, "queued": INT,
                       "handled": INT, "crashes": INT, "restarts": INT, "escalations": INT,
                       "dead_letters": INT, "hot": {"type": "array", "items": OPS_HOT_SPOT}})
#: ``tree``: nested ``{kind, id, state, restarts, crashes, children}`` (supervisors, services
#: and actor kinds; no actors: those are summed up in ``kinds``).
OPS_SUPERVISION: Final = obj({"tree": OBJECT,
                              "kinds": {"type": "array", "items": OPS_KIND}})
OPS_STATS: Final = obj({
    "at": OPS_MAYBE_NUMBER, "interval": OPS_NUMBER, "window": OPS_NUMBER,
    "current": {"anyOf": [OPS_POINT, {"type": "null"}]},
    "supervision": {"anyOf": [OPS_SUPERVISION, {"type": "null"}]},
    "series": {"type": "array", "items": OPS_POINT},
})
OPS_RETRIED: Final = obj({"retried": OPS_DEAD_LETTER})

# --- teams -----------------------------------------------------------------------------------

TEAM: Final = obj({
    "id": INT, "name": STRING, "timezone": STRING, "routing_strategy": STRING,
    "business_hours": OBJECT, "settings": OBJECT, "member_count": INT,
    "created_at": MAYBE_TIME, "updated_at": MAYBE_TIME,
})
TEAM_FIELDS: Final[dict[str, Schema]] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "timezone": {"type": "string", "description": "an IANA zone, e.g. America/Sao_Paulo"},
    "routing_strategy": STRING,
    "business_hours": OBJECT,
    "settings": OBJECT,
}
TEAM_CREATE: Final = body(TEAM_FIELDS, ("name",))
TEAM_UPDATE: Final = body(TEAM_FIELDS)
TEAMS: Final = page_of("teams", TEAM)
MEMBER: Final = obj({"user_id": INT, "name": STRING, "email": STRING, "role": ROLE,
                     "active": BOOL, "skills": STRINGS, "max_concurrent": INT,
                     "joined_at": MAYBE_TIME})
MEMBER_FIELDS: Final = body({"skills": STRINGS,
                             "max_concurrent": {"type": "integer", "minimum": 1}})
MEMBERS: Final = page_of("members", MEMBER)
AGENT: Final = obj({
    "id": INT, "name": STRING, "email": STRING, "role": ROLE, "active": BOOL,
    "teams": {"type": "array", "items": obj({"team_id": INT, "team_name": STRING,
                                             "skills": STRINGS, "max_concurrent": INT})},
    "presence": STRING,
})
AGENTS_QUERY: Final = {**PAGE_QUERY,
                       "include_inactive": {"type": "string", "enum": ["true", "false"]}}
AGENTS: Final = page_of("agents", AGENT)

# --- conversations ---------------------------------------------------------------------------

CONVERSATION: Final = obj({
    "id": INT,
    "customer": obj({"id": INT, "name": MAYBE_STRING, "phone": MAYBE_STRING,
                     "wa_id": MAYBE_STRING}),
    "business_phone_number_id": MAYBE_STRING, "status": STRING, "owner": STRING,
    "team_id": MAYBE_INT, "assigned_agent_id": MAYBE_INT, "priority": INT,
    "labels": STRINGS, "last_customer_message_at": MAYBE_TIME, "opened_at": MAYBE_TIME,
    "resolved_at": MAYBE_TIME, "last_activity_at": MAYBE_TIME,
})
CUSTOMER_PROFILE: Final = obj({
    "id": INT, "name": MAYBE_STRING, "phone": MAYBE_STRING, "wa_id": MAYBE_STRING,
    "business_phone_number_id": STRING, "created_at": MAYBE_TIME,
    "conversations": {"type": "array", "items": obj({
        "id": INT, "status": STRING, "owner": STRING, "team_id": MAYBE_INT,
        "assigned_agent_id": MAYBE_INT, "labels": STRINGS, "opened_at": MAYBE_TIME,
        "resolved_at": MAYBE_TIME,
        "collected": {"type": "object",
                      "description": "the flow variables after the conversation's last "
                                     "flow step ({} when no flow ran)"},
    })},
})
TEMPLATES: Final = obj({
    "synced": {"type": "boolean",
               "description": "whether the catalogue was loaded from the Graph API"},
    "templates": {"type": "array", "items": obj({
        "name": STRING, "language": STRING, "category": MAYBE_STRING,
        "header": MAYBE_STRING, "header_variables": STRINGS, "body": STRING,
        "variables": STRINGS, "footer": MAYBE_STRING, "buttons": STRINGS,
    })},
})
AUDIT_QUERY: Final[dict[str, Schema]] = {
    "user": {"type": "integer", "minimum": 1, "description": "the acting user's id"},
    "action": {"type": "string", "description": "exact, or a prefix ending in *"},
    "target_type": STRING, "target_id": STRING,
    "since": {"type": "string", "format": "date-time"},
    "until": {"type": "string", "format": "date-time"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 500},
    "cursor": STRING,
    "format": {"type": "string", "enum": ["json", "jsonl", "csv"]},
}
AUDIT_ENTRY: Final = obj({
    "seq": INT, "at": TIME, "user_id": MAYBE_INT, "role": MAYBE_STRING, "action": STRING,
    "target_type": MAYBE_STRING, "target_id": MAYBE_STRING, "ip": MAYBE_STRING,
    "user_agent": MAYBE_STRING, "request_id": MAYBE_STRING, "details": OBJECT,
    "prev_hash": STRING, "hash": STRING,
})
AUDIT_PAGE: Final = obj({"entries": {"type": "array", "items": AUDIT_ENTRY},
                         "next_cursor": MAYBE_STRING})
MEDIA_UPLOAD: Final = body({
    "file": {"type": "string", "format": "binary",
             "description": "the file; its Content-Type decides the message type"},
}, ("file",))
MEDIA_UPLOADED: Final = obj({
    "id": {"type": "string", "description": "the media id to send: content {type, id}"},
    "type": {"type": "string", "enum": ["image", "video", "audio", "document", "sticker"]},
    "mime_type": STRING, "size": INT, "filename": STRING,
})
MEDIA_FILE: Final[Schema] = {"type": "string", "format": "binary"}
CONVERSATIONS_QUERY: Final = {
    "cursor": PAGE_QUERY["cursor"],
    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
    "status": STRING, "owner": STRING,
    "team": {"type": "integer", "minimum": 1}, "agent": {"type": "integer", "minimum": 1},
    "label": {"type": "string", "maxLength": 200}, "q": {"type": "string", "maxLength": 200},
}
CONVERSATIONS: Final = page_of("conversations", CONVERSATION)
MESSAGE: Final = obj({
    "id": INT, "whatsapp_message_id": MAYBE_STRING, "direction": STRING, "type": STRING,
    "payload": {}, "status": STRING, "sent_by_user_id": MAYBE_INT, "created_at": MAYBE_TIME,
})
MESSAGES_QUERY: Final = {
    "before": {"type": "string", "maxLength": 200,
               "description": "next_cursor of the previous page (older messages)"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
}
MESSAGES: Final = page_of("messages", MESSAGE)
EVENTS_QUERY: Final = {"after_seq": {"type": "integer", "minimum": 0, "maximum": 2**62},
                       "limit": {"type": "integer", "minimum": 1, "maximum": 500}}
EVENTS: Final = obj({"events": {"type": "array", "items": obj({
    "id": INT, "seq": INT, "type": STRING, "payload": {}, "at": MAYBE_TIME})},
    "has_more": BOOL})
CONVERSATION_METRICS: Final = obj({"agents": {"type": "array"}, "events": INT})

# --- commands --------------------------------------------------------------------------------

COMMAND_RESULT: Final = OBJECT
SEND: Final = body({"content": {"description": "text, or a WhatsApp message object"},
                    "idempotency_key": {"type": "string", "maxLength": 200}}, ("content",))
ASSIGN: Final = body({"agent": {"type": ["integer", "string"]},
                      "team": {"type": ["integer", "string"]}}, ("agent",))
TRANSFER: Final = body({"team": {"type": ["integer", "string"]},
                        "agent": {"type": ["integer", "string"]}, "note": STRING})
NOTE: Final = body({"text": {"type": "string", "minLength": 1}}, ("text",))
LABELS: Final = body({"add": STRINGS, "remove": STRINGS})
PRIORITY: Final = body({"priority": INT}, ("priority",))
HANDOFF: Final = body({"team": {"type": ["integer", "string"]}, "priority": INT,
                       "skills": STRINGS, "note": STRING}, ("team",))

# --- flows -----------------------------------------------------------------------------------

FLOW_NAME: Final = {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}
FLOW_DOCUMENT: Final = {"type": "object",
                        "description": "a flow document (docs/flows.md; its JSON Schema is "
                                       "pytake/flows/schema/)"}
FLOW: Final = obj({"name": STRING, "published_version": MAYBE_INT, "draft_version": MAYBE_INT,
                   "versions": INT})
FLOWS: Final = page_of("flows", FLOW)
FLOW_VERSION: Final = obj({"version": INT, "status": STRING})
FLOW_DETAIL: Final = obj({"name": STRING, "versions": {"type": "array",
                                                       "items": FLOW_VERSION}})
FLOW_VERSION_DOCUMENT: Final = obj({"name": STRING, "version": INT, "status": STRING,
                                    "document": OBJECT})
PROBLEMS: Final = {"type": "array", "items": obj({"path": STRING, "message": STRING,
                                                  "code": STRING})}
VALIDATION: Final = obj({"valid": BOOL, "problems": PROBLEMS})
DRAFT: Final = obj({"valid": BOOL, "problems": PROBLEMS})
PUBLISH: Final = body({"version": {"type": "integer", "minimum": 1},
                       "share": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}})
PUBLISHED: Final = obj({"version": INT})
SIMULATION: Final = body({
    "document": FLOW_DOCUMENT, "flow": STRING, "version": {"type": "integer", "minimum": 1},
    "messages": {"type": "array"}, "stubs": OBJECT, "live_modules": BOOL,
    "customer": OBJECT, "window_open": BOOL, "closed_teams": STRINGS,
})
TRANSCRIPT: Final = OBJECT
FLOW_METRICS_QUERY: Final = {"since": TIME, "until": TIME,
                             "version": {"type": "integer", "minimum": 1}}

# --- modules ---------------------------------------------------------------------------------

MODULE_NAME: Final = {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,100}$"}
TENANT: Final = {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,100}$"}
MODULE: Final = obj({"name": STRING, "version": STRING, "enabled": BOOL, "manifest": OBJECT})
MODULES: Final = page_of("modules", MODULE)
SWITCH: Final = obj({"name": STRING, "enabled": BOOL})
CONFIG: Final = obj({"module": STRING, "tenant": STRING, "config": OBJECT,
                     "secrets_set": STRINGS, "updated_at": TIME})
CONFIGS: Final = page_of("configs", CONFIG)
MODULE_PATH: Final = {"name": MODULE_NAME, "tenant": TENANT}

# --- users -----------------------------------------------------------------------------------

ID: Final[Schema] = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
USER: Final = ME
USERS_QUERY: Final = {
    "cursor": PAGE_QUERY["cursor"],
    "limit": {"type": "integer", "minimum": 1, "maximum": 200,
              "description": "how many users a page holds at most (default 50)"},
    "role": ROLE,
    "active": {"type": "string", "enum": ["true", "false"]},
}
USERS: Final = page_of("users", USER)
DELIVERY: Final[Schema] = {
    "type": "string", "enum": ["link", "password"],
    "description": "link (default): a one-time set-password token; password: a temporary "
                   "password",
}
INVITE: Final = body({"email": STRING, "name": STRING, "role": ROLE, "delivery": DELIVERY},
                     ("email", "name", "role"))
CREDENTIAL: Final = obj(
    {"user": USER, "delivery": STRING},
    {"set_password_token": {"type": "string", "description": "delivery link: shown only here"},
     "expires_at": MAYBE_TIME,
     "temporary_password": {"type": "string",
                            "description": "delivery password: shown only here"}},
)
USER_UPDATE: Final = body({"name": STRING, "role": ROLE, "active": BOOL})
RESET_PASSWORD: Final = body({"delivery": DELIVERY})
ME_UPDATE: Final = body({"name": STRING}, ("name",))
PASSWORD_CHANGE: Final = body({"current_password": STRING, "new_password": STRING},
                              ("current_password", "new_password"))
SET_PASSWORD: Final = body({"token": STRING, "password": STRING, "totp_code": STRING,
                            "recovery_code": STRING}, ("token", "password"))

# --- first run -------------------------------------------------------------------------------

SETUP_STATE: Final = obj({"needed": BOOL})
SETUP: Final = body({"code": STRING, "name": STRING, "email": STRING, "password": STRING},
                    ("code", "name", "email", "password"))

# --- second factor ---------------------------------------------------------------------------

SECOND_FACTOR: Final = obj({"enabled": BOOL, "pending": BOOL, "recovery_codes_left": INT})
PASSWORD_ONLY: Final = body({"password": STRING}, ("password",))
ENROLLMENT: Final = obj({
    "secret": {"type": "string", "description": "base32 TOTP key: shown only here"},
    "otpauth_uri": {"type": "string", "description": "the same, for a QR code"},
})
CODE_ONLY: Final = body({"code": STRING}, ("code",))
RECOVERY_CODES: Final = obj({"recovery_codes": {
    "type": "array", "items": STRING, "description": "one-time codes: shown only here"}})
SECOND_FACTOR_PROOF: Final = body({"code": STRING, "recovery_code": STRING})
SECOND_FACTOR_OFF: Final = body({"password": STRING, "code": STRING, "recovery_code": STRING},
                                ("password",))

# --- webhooks --------------------------------------------------------------------------------

WEBHOOK_MEMBERS: Final[dict[str, Schema]] = {
    "id": INT, "url": STRING, "events": STRINGS, "active": BOOL,
    "description": MAYBE_STRING, "created_at": TIME, "updated_at": TIME,
}
WEBHOOK: Final = obj(WEBHOOK_MEMBERS)
WEBHOOK_SECRET: Final[Schema] = {
    "type": "string", "description": "the signing secret (whsec_...): shown only here"}
WEBHOOK_CREATED: Final = obj({**WEBHOOK_MEMBERS, "secret": WEBHOOK_SECRET})
WEBHOOK_FIELDS: Final[dict[str, Schema]] = {
    "url": {"type": "string", "maxLength": 2048, "description": "an http(s) URL"},
    "events": {"type": "array", "minItems": 1, "maxItems": 50,
               "items": {"type": "string",
                         "pattern": r"^(\*|[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))*)$"},
               "description": "event types, 'family.*' or '*'"},
    "active": BOOL,
    "description": {"type": ["string", "null"], "maxLength": 255},
}
WEBHOOK_CREATE: Final = body(WEBHOOK_FIELDS, ("url", "events"))
WEBHOOK_UPDATE: Final = {**body(WEBHOOK_FIELDS), "minProperties": 1}
WEBHOOKS_QUERY: Final = {
    "cursor": PAGE_QUERY["cursor"],
    "limit": {"type": "integer", "minimum": 1, "maximum": 200,
              "description": "how many items a page holds at most (default 50)"},
}
WEBHOOKS: Final = page_of("webhooks", WEBHOOK)
ROTATED_SECRET: Final = obj({"id": INT, "secret": WEBHOOK_SECRET})
WEBHOOK_DELIVERY: Final = obj({
    "id": INT, "webhook_id": INT, "event_id": STRING, "event_type": STRING, "attempt": INT,
    "succeeded": BOOL, "response_status": MAYBE_INT, "error": MAYBE_STRING,
    "duration_ms": MAYBE_INT, "at": TIME, "redelivery_of": MAYBE_INT,
})
WEBHOOK_DELIVERIES: Final = page_of("deliveries", WEBHOOK_DELIVERY)

# --- business numbers ------------------------------------------------------------------------

META_ID: Final[Schema] = {"type": "string", "pattern": r"^[0-9]{1,64}$",
                          "description": "the digits of a Meta id"}
NUMBER: Final = obj({
    "phone_number_id": STRING, "waba_id": STRING, "display_name": STRING,
    "has_token": {"type": "boolean",
                  "description": "whether the number has its own access token (never shown)"},
    "paused": BOOL, "created_at": TIME, "updated_at": TIME,
})
NUMBERS_QUERY: Final[dict[str, Schema]] = {
    "cursor": {"type": "string", "pattern": r"^[0-9]{1,18}$",
               "description": "next_cursor of the previous page; absent for the first page"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 100,
              "description": "how many numbers a page holds at most (default 100)"},
}
NUMBERS: Final = page_of("numbers", NUMBER)
_ACCESS_TOKEN: Final[Schema] = {"type": "string", "minLength": 1, "maxLength": 4096,
                                "description": "kept encrypted; never in an answer"}
NUMBER_FIELDS: Final[dict[str, Schema]] = {
    "waba_id": {"type": "string", "maxLength": 64, "pattern": r"^[0-9]*$",
                "description": "the digits of a Meta id, or empty"},
    "display_name": {"type": "string", "maxLength": 200},
    "access_token": _ACCESS_TOKEN,
    "paused": BOOL,
}
NUMBER_CREATE: Final = body({"phone_number_id": META_ID, **NUMBER_FIELDS},
                            ("phone_number_id",))
NUMBER_UPDATE: Final = body({
    **NUMBER_FIELDS,
    "access_token": {**_ACCESS_TOKEN, "type": ["string", "null"],
                     "description": "kept encrypted; never in an answer; null removes it"},
})
NUMBER_PATH: Final = {"phone_number_id": META_ID}

# --- runtime settings ------------------------------------------------------------------------

SETTING: Final = obj({"value": {}, "default": {}, "overridden": BOOL})
SETTINGS: Final = obj({
    "settings": {"type": "object", "additionalProperties": SETTING,
                 "description": "each live setting: its value now, the environment's "
                                "(default), and whether it is overridden"},
    "live": STRINGS,
})
_MAYBE_SECONDS: Final[Schema] = {"type": ["number", "null"], "minimum": 0}
SETTINGS_CHANGE: Final[Schema] = {
    "type": "object",
    "description": "live settings to change; null goes back to the default; any other "
                   "name answers 422",
    "properties": {
        "routing_default_team": MAYBE_STRING,
        "routing_reopen_window": _MAYBE_SECONDS,
        "routing_burst_gap": _MAYBE_SECONDS,
        "flows_default": MAYBE_STRING,
        "flows_keywords": MAYBE_STRING,
        "agent_offline_grace": _MAYBE_SECONDS,
        "whatsapp_inbox_backlog_limit": MAYBE_INT,
    },
    "additionalProperties": False,
}

# --- canned responses ------------------------------------------------------------------------

CANNED: Final = obj({"id": INT, "team_id": INT, "shortcut": STRING, "title": STRING,
                     "text": STRING, "created_at": MAYBE_TIME, "updated_at": MAYBE_TIME})
CANNED_QUERY: Final = {
    **PAGE_QUERY,
    "team": {**ID, "description": "only this team's"},
    "shortcut": {"type": "string", "maxLength": 200,
                 "description": "only shortcuts starting with this (a leading / is ignored)"},
}
CANNED_RESPONSES: Final = page_of("canned_responses", CANNED)
CANNED_FIELDS: Final[dict[str, Schema]] = {
    "team_id": ID,
    "shortcut": {"type": "string", "minLength": 1, "maxLength": 33,
                 "description": "1 to 32 letters (any script), digits, . _ - (starting with a "
                                "letter or digit), stored in lower case; "
                                "a leading / is dropped"},
    "title": {"type": "string", "minLength": 1, "maxLength": 120},
    "text": {"type": "string", "minLength": 1, "maxLength": 4096},
}
CANNED_CREATE: Final = body(CANNED_FIELDS, ("team_id", "shortcut", "title", "text"))
CANNED_UPDATE: Final = {**body(CANNED_FIELDS), "minProperties": 1}

# --- customers' data requests (LGPD) ---------------------------------------------------------

CUSTOMER_MATCH: Final = obj({
    "id": INT, "business_phone_number_id": STRING, "name": MAYBE_STRING,
    "phone": MAYBE_STRING, "wa_id": MAYBE_STRING, "bsuid": MAYBE_STRING, "created_at": TIME,
    "anonymized_at": MAYBE_TIME, "conversations": INT, "last_activity_at": MAYBE_TIME,
})
CUSTOMERS_QUERY: Final[dict[str, Schema]] = {
    "q": {"type": "string", "minLength": 1, "maxLength": 200,
          "description": "a phone number (its digits, 3 or more, anywhere in the number), a "
                         "BSUID, or part of a name"},
    **PAGE_QUERY,
}
CUSTOMERS: Final = page_of("customers", CUSTOMER_MATCH)
DATA_REQUEST: Final = obj({
    "id": INT, "kind": {"type": "string", "enum": ["export", "anonymise", "erase"]},
    "customer_id": INT, "state": {"type": "string", "enum": ["running", "done", "failed"]},
    "requested_by_user_id": MAYBE_INT, "requested_via": STRING, "attempts": INT,
    "report": {**OBJECT, "description": "what was found and removed where, in counts; "
                                        "never personal data"},
    "error": MAYBE_STRING, "started_at": TIME, "updated_at": TIME, "finished_at": MAYBE_TIME,
})
DATA_REQUESTS_QUERY: Final[dict[str, Schema]] = {
    **PAGE_QUERY,
    "customer": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1,
                 "description": "only this customer's"},
}
DATA_REQUESTS: Final = page_of("data_requests", DATA_REQUEST)
DATA_REQUEST_DONE: Final = obj({"request": DATA_REQUEST},
                               {"already_erased": {**BOOL, "description": (
                                   "the customer was erased before: the answer is that "
                                   "earlier erasure's request; nothing was done now")}})
CUSTOMER_EXPORT: Final[Schema] = {"type": "string", "format": "binary",
                                  "description": "a zip: customer.json and media/"}
