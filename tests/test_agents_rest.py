"""The conversation commands over REST (the WebSocket's twins): roles, answers and errors,
and the transfers and supervisor moves that both paths share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from pytake.store import UserRole

from .agent_support import PASSWORD, AgentClient, Desk, running_desk, seed_team


async def _login(desk: Desk, role: UserRole) -> tuple[int, dict[str, str]]:
    import secrets

    email = f"{role}-{secrets.token_hex(3)}@example.com"
    info = await desk.edge.engine.identity.create_user(email, str(role), role, PASSWORD)
    return info.id, {"Authorization": f"Bearer {await desk.token(email)}"}


async def _assigned(desk: Desk, agent: AgentClient, text: str) -> int:
    customer = desk.customer()
    await desk.sim.send_text(customer, text)
    offered = await agent.event("conversation.offered", preview=text)
    conversation_id: int = offered["data"]["conversation_id"]
    await agent.command("accept", conversation_id=conversation_id)
    await agent.event("conversation.assigned", conversation_id=conversation_id)
    return conversation_id


async def test_commands_over_rest_with_roles_and_specific_errors(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=2, PYTAKE_AGENT_OFFLINE_GRACE="30") as desk:
        owner_email, other_email = desk.agents
        client = desk.edge.client
        owner_headers = {"Authorization": f"Bearer {await desk.token(owner_email)}"}
        other_headers = {"Authorization": f"Bearer {await desk.token(other_email)}"}
        async with desk.connect(owner_email) as owner:
            await owner.event("presence", status="online")
            conversation_id = await _assigned(desk, owner, "quero cancelar")
            url = f"/api/v1/conversations/{conversation_id}"

            sent = await client.post(f"{url}/messages", headers=owner_headers,
                                     json={"content": {"type": "text", "text": "Claro!"}})
            assert sent.status_code == 201, sent.text
            assert sent.json()["message_id"] > 0
            keyed = [await client.post(f"{url}/messages",
                                       headers={**owner_headers, "Idempotency-Key": "r-1"},
                                       json={"content": {"type": "text", "text": "Uma vez"}})
                     for _ in range(2)]
            assert [r.status_code for r in keyed] == [201, 201]
            assert keyed[1].json() == {**keyed[0].json(), "repeated": True}
            # The same key in another conversation is another send.
            other_id = await _assigned(desk, owner, "outra coisa")
            elsewhere = await client.post(
                f"/api/v1/conversations/{other_id}/messages",
                headers={**owner_headers, "Idempotency-Key": "r-1"},
                json={"content": {"type": "text", "text": "Uma vez"}})
            assert elsewhere.status_code == 201 and "repeated" not in elsewhere.json()
            assert elsewhere.json()["message_id"] != keyed[0].json()["message_id"]

            bad = await client.post(f"{url}/messages", headers=owner_headers,
                                    json={"content": {"type": "buttons", "body": "x",
                                                      "buttons": []}})
            assert bad.status_code == 422 and bad.json()["code"] == "invalid"

            not_yours = await client.post(f"{url}/notes", headers=other_headers,
                                          json={"text": "hmm"})
            assert not_yours.status_code == 409
            assert not_yours.json()["error"] == "the conversation is not assigned to you"

            note = await client.post(f"{url}/notes", headers=owner_headers,
                                     json={"text": "cliente VIP"})
            assert note.status_code == 200
            updated = await owner.event("conversation.updated", change="note")
            assert updated["data"]["text"] == "cliente VIP"

            labels = await client.post(f"{url}/labels", headers=owner_headers,
                                       json={"add": ["vip", "billing"], "remove": []})
            assert labels.json() == {"labels": ["vip", "billing"]}

            assert (await client.post("/api/v1/conversations/999999999/resolve",
                                      headers=owner_headers)).status_code == 404
            agent_assign = await client.post(f"{url}/assign", headers=owner_headers,
                                             json={"agent": desk.agents[other_email]})
            assert agent_assign.status_code == 403
            unauthenticated = await client.post(f"{url}/resolve")
            assert unauthenticated.status_code == 401

            # A supervisor gives it to the other agent, who is told, with the context.
            _, supervisor = await _login(desk, UserRole.SUPERVISOR)
            async with desk.connect(other_email) as other:
                moved = await client.post(f"{url}/assign", headers=supervisor,
                                          json={"agent": desk.agents[other_email]})
                assert moved.status_code == 200, moved.text
                taken = await owner.event("conversation.transferred",
                                          conversation_id=conversation_id)
                assert taken["data"]["reason"] == "reassign"
                given = await other.event("conversation.assigned",
                                          conversation_id=conversation_id)
                assert given["data"]["labels"] == ["vip", "billing"]
                # The former owner can no longer answer.
                late = await client.post(f"{url}/messages", headers=owner_headers,
                                         json={"content": {"type": "text", "text": "oi"}})
                assert late.status_code == 409

                # Transfer to another team with a note: queued there, the note travels.
                team_b, _, b_agents = await seed_team(desk.edge, 1)
                (b_email,) = b_agents
                async with desk.connect(b_email) as b_agent:
                    await b_agent.event("presence", status="online")
                    moved = await client.post(
                        f"{url}/transfer", headers={"Authorization": f"Bearer "
                                                    f"{await desk.token(other_email)}"},
                        json={"team": team_b, "note": "assunto de cobrança"})
                    assert moved.status_code == 200, moved.text
                    offered = await b_agent.event("conversation.offered",
                                                  conversation_id=conversation_id)
                    assert offered["data"]["note"] == "assunto de cobrança"
                    stats = await client.get(f"/api/v1/teams/{team_b}/queue",
                                             headers=supervisor)
                    body: dict[str, Any] = stats.json()
                    assert body["offered"] == 1 and body["agents_online"] == 1
                    outsider = await client.get(f"/api/v1/teams/{team_b}/queue",
                                                headers=owner_headers)
                    assert outsider.status_code == 403
                    missing = await client.post(f"{url}/transfer", headers=supervisor,
                                                json={"team": 987654321})
                    assert missing.status_code == 404
                    # Metrics, recomputed from the stored log alone.
                    metrics = (await client.get(f"{url}/metrics", headers=supervisor)).json()
                    assert metrics["transfers"] == 1 and metrics["reassignments"] == 1
                    assert metrics["first_response_time"] > 0
                    assert metrics["handle_time"] > 0 and metrics["resolved_by"] is None
                    assert metrics["agents"] == [str(desk.agents[owner_email]),
                                                 str(desk.agents[other_email])]
        events = [r[0] for r in await desk.edge.query(
            "SELECT type FROM conversation_events WHERE conversation_id = :c ORDER BY seq",
            c=conversation_id)]
        assert events.count("note") >= 2  # the private note and the transfer's note
        assert "labels" in events and "reassign" in events and "transfer_to_team" in events
        # A private note never reaches the customer.
        assert not any("cliente VIP" in str(s.body) for s in desk.standin.sent)


async def test_marking_read_sends_a_receipt_that_is_no_message_of_the_conversation(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=1) as desk:
        (email,) = desk.agents
        headers = {"Authorization": f"Bearer {await desk.token(email)}"}
        async with desk.connect(email) as agent:
            await agent.event("presence", status="online")
            conversation_id = await _assigned(desk, agent, "olá, li?")
            url = f"/api/v1/conversations/{conversation_id}"
            read = await desk.edge.client.post(f"{url}/read", headers=headers)
            assert read.status_code == 200, read.text
            with trio.fail_after(10):
                while not any(s.is_read_receipt for s in desk.standin.sent):
                    await trio.sleep(0.05)
            listed = await desk.edge.client.get(f"{url}/messages", headers=headers)
            assert listed.status_code == 200, listed.text
            assert [m["type"] for m in listed.json()["messages"]] == ["text"]
