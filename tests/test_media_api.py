"""Media over REST against PyTake on PostgreSQL with the Cloud API stand-in: a customer's
image downloaded (stored by the background downloader, or fetched on request once the file is
gone), an upload sent back as an image and served like the customer's, and the refusals: a
type WhatsApp does not take, a file over its type's limit, no file, a message without media,
a conversation the caller may not see."""

from __future__ import annotations

import secrets
from pathlib import Path

import trio

from pytake.store import UserRole

from .agent_support import PASSWORD, AgentClient, Desk, running_desk

#: The smallest valid PNG (1x1, transparent): real bytes, so the stand-in's checks see a PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def _assigned_image(desk: Desk, agent: AgentClient) -> tuple[int, int]:
    customer = desk.customer("Zoë 🌷")
    await desk.sim.send_text(customer, "olá")
    offered = await agent.event("conversation.offered")
    conversation_id: int = offered["data"]["conversation_id"]
    await agent.command("accept", conversation_id=conversation_id)
    await agent.event("conversation.assigned", conversation_id=conversation_id)
    await desk.sim.send_image(customer, PNG, mime_type="image/png", caption="meu boleto")
    image = await agent.event("message.new", type="image")
    return conversation_id, int(image["data"]["message_id"])


async def _wait_file(folder: Path, timeout: float = 10.0) -> list[Path]:
    with trio.fail_after(timeout):
        while not (files := [p for p in folder.glob("*") if not p.name.startswith(".")]):
            await trio.sleep(0.05)
    return files


async def test_media_download_upload_and_refusals(pg_url: str, tmp_path: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=2, PYTAKE_AGENT_OFFLINE_GRACE="30") as desk:
        owner_email = next(iter(desk.agents))
        client = desk.edge.client
        owner = {"Authorization": f"Bearer {await desk.token(owner_email)}"}
        async with desk.connect(owner_email) as agent:
            await agent.event("presence", status="online")
            conversation_id, message_id = await _assigned_image(desk, agent)
            url = f"/api/v1/conversations/{conversation_id}"
            media_url = f"{url}/messages/{message_id}/media"

            # Stored in the background as it arrived; served with its type, never run.
            stored = await _wait_file(tmp_path / "media")
            got = await client.get(media_url, headers=owner)
            assert got.status_code == 200, got.text
            assert got.content == PNG
            assert got.headers["content-type"] == "image/png"
            assert got.headers["content-disposition"].startswith("inline")
            assert "sandbox" in got.headers["content-security-policy"]
            assert (await client.get(media_url)).status_code == 401

            # The file gone from disk: fetched again from WhatsApp on request.
            for path in stored:
                path.unlink()
            again = await client.get(media_url, headers=owner)
            assert again.status_code == 200 and again.content == PNG

            # An upload, sent as an image, and the agent's own send served back.
            uploaded = await client.post(
                f"{url}/media", headers=owner,
                files={"file": ("recibo ção.png", PNG, "image/png")})
            assert uploaded.status_code == 201, uploaded.text
            answer = uploaded.json()
            assert answer["type"] == "image" and answer["size"] == len(PNG)
            assert answer["filename"] == "recibo ção.png"
            assert desk.standin._media[answer["id"]].data == PNG
            sent = await client.post(f"{url}/messages", headers=owner, json={
                "content": {"type": "image", "id": answer["id"], "caption": "segue"}})
            assert sent.status_code == 201, sent.text
            own = await client.get(f"{url}/messages/{sent.json()['message_id']}/media",
                                   headers=owner)
            assert own.status_code == 200 and own.content == PNG

            # A document larger than the server's default body limit (16 MiB) is taken.
            pdf = b"%PDF-1.4\n" + b"0" * (20 * 1024 * 1024)
            document = await client.post(f"{url}/media", headers=owner,
                                         files={"file": ("contrato.pdf", pdf, "application/pdf")})
            assert document.status_code == 201, document.text
            assert document.json()["type"] == "document"

            # Refusals name the field and the reason.
            html = await client.post(f"{url}/media", headers=owner,
                                     files={"file": ("x.html", b"<script>", "text/html")})
            assert html.status_code == 400
            assert html.json()["field"] == "file" and "text/html" in html.json()["detail"]
            big = await client.post(f"{url}/media", headers=owner, files={
                "file": ("big.png", PNG + b"\0" * (5 * 1024 * 1024), "image/png")})
            assert big.status_code == 413 and big.json()["code"] == "too_large"
            empty = await client.post(f"{url}/media", headers=owner, data={"x": "1"})
            assert empty.status_code == 400 and empty.json()["field"] == "file"

            texts = await client.get(f"{url}/messages", headers=owner)
            text_id = next(m["id"] for m in texts.json()["messages"] if m["type"] == "text")
            no_media = await client.get(f"{url}/messages/{text_id}/media", headers=owner)
            assert no_media.status_code == 404 and no_media.json()["code"] == "no_media"
            missing = await client.get(f"{url}/messages/999999999/media", headers=owner)
            assert missing.status_code == 404

            # Another agent (not owner, not waiting in a shared queue) sees nothing of it.
            email = f"outsider-{secrets.token_hex(3)}@example.com"
            await desk.edge.engine.identity.create_user(email, "Outsider", UserRole.AGENT,
                                                        PASSWORD)
            outsider = {"Authorization": f"Bearer {await desk.token(email)}"}
            assert (await client.get(media_url, headers=outsider)).status_code == 403
            assert (await client.post(f"{url}/media", headers=outsider, files={
                "file": ("a.png", PNG, "image/png")})).status_code == 403
