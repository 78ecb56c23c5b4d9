"""Texts of the replies the WhatsApp edge sends by itself."""

from __future__ import annotations

import attrs


@attrs.frozen
class AutomaticReplies:
    welcome: str = "Olá! Como podemos ajudar?"
    unsupported: str = (
        "Desculpe, ainda não conseguimos ler esse tipo de mensagem. "
        "Pode enviar um texto, uma foto ou um documento?"
    )
    file_too_large: str = (
        "Esse arquivo é grande demais para o WhatsApp (mais de 100 MB). "
        "Pode enviar um arquivo menor?"
    )
    #: sent when a conversation starts waiting; ``{position}`` and ``{minutes}`` (empty: off)
    queue_position: str = (
        "Você é o número {position} na fila. Tempo estimado de espera: {minutes} min."
    )
    #: the same when no estimate exists (nobody who could take it is online)
    queue_position_unknown_wait: str = (
        "Você é o número {position} na fila. Um atendente responderá assim que possível."
    )
