"""The approved message templates, for the desk's composer once a conversation's 24-hour
window has closed (only an approved template may be sent then).

- ``GET /api/v1/templates``   every approved template of the WhatsApp Business Account, with
  its texts and the variables a sender fills in

The catalogue is `pytake.messaging.TemplateCatalogue`, kept in memory and synced from the
Graph API (docs/whatsapp.md); ``synced`` says whether it has been loaded at all, so an empty
list can be told from a catalogue that could not be read.
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify

from pytake.messaging import TemplateCatalogue
from pytake.web import _schemas as schemas
from pytake.web._openapi import documented
from pytake.web._permissions import Permission, requires

__all__ = ["create_templates_blueprint"]


def create_templates_blueprint(catalogue: TemplateCatalogue) -> Blueprint:
    bp = Blueprint("templates_api", __name__)

    @bp.get("/api/v1/templates")
    @documented(response=schemas.TEMPLATES)
    @requires(Permission.CONVERSATIONS_REPLY)
    async def list_templates() -> Response:
        """The approved templates (name, language, texts, variables), by name."""
        return jsonify({
            "synced": catalogue.synced,
            "templates": [{
                "name": t.name, "language": t.language, "category": t.category,
                "header": t.header, "header_variables": list(t.header_variables),
                "body": t.body, "variables": list(t.variables), "footer": t.footer,
                "buttons": list(t.buttons),
            } for t in catalogue.approved_templates()],
        })

    return bp
