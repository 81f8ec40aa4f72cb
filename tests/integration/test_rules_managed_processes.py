"""A published version is in force in every process within 2 s (issue 18): a receiver (`serve`,
where the publish is made over its API) and two `inbound worker` processes, started as
subprocesses; messages only the new version handles are decided under it by the workers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from inbound.store.database import create_engine, session_factory
from inbound.store.models import Message, Outcome
from tests.integration.lifecycle_support import Inbound, post_generic, start_inbound
from tests.support.browser import add_person
from tests.support.managed_rules import APPOINTMENTS, appointments_in_inbound, process_env
from tests.support.waiting import eventually

NEW_NUMBER = "+447700900777"  # only the new version has it, and its keyword
NEW_VERSION = APPOINTMENTS.replace("numbers:\n", f'numbers:\n    - "{NEW_NUMBER}"\n', 1).replace(
    "i will be there,", "i will be there, maybe,"
)
WITHIN = 2.0  # seconds from the publish's answer to every process using the new version


async def _decisions(database_url: str, ids: list[str]) -> dict[str, str]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(Message.provider_message_id, Message.service_id, Outcome.action)
                .join(Outcome, Outcome.message_id == Message.id)
                .where(Message.provider_message_id.in_(ids))
            )
            return {mid: f"{service}:{action}" for mid, service, action in rows}
    finally:
        await engine.dispose()


async def _reloaded(processes: list[Inbound], started: float) -> list[float]:
    """Seconds after `started` at which each process logged loading the published version."""
    seen: dict[int, float] = {}
    while len(seen) < len(processes) and time.monotonic() - started < 10:
        for index, process in enumerate(processes):
            if index not in seen and "version published" in process.logged():
                seen[index] = time.monotonic() - started
        await asyncio.sleep(0.02)
    return [seen.get(index, float("inf")) for index in range(len(processes))]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_published_version_is_in_force_in_every_process_within_2_s(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    folder = await appointments_in_inbound(database_url, tmp_path, reason="import")
    engine = create_engine(database_url)
    try:
        admin = await add_person(
            session_factory(engine), "admin@surgery.example", {"appointments": "service_admin"}
        )
    finally:
        await engine.dispose()
    base = process_env(env, database_url, folder)
    receiver = await start_inbound(env, "serve", tmp_path / "serve")
    workers = [await start_inbound(env, "worker", tmp_path / f"worker{n}") for n in range(2)]
    processes = [receiver, *workers]
    try:
        await receiver.says("listening on")
        for worker in workers:
            await worker.says("rules worker consuming")
        rules = f"{base}/api/services/appointments/rules"
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {admin.token}"}
        ) as http:
            async with http.post(rules + "/drafts", data=NEW_VERSION.encode()) as response:
                assert response.status == 201, await response.text()
                draft = (await response.json())["draft"]
            reason = json.dumps({"reason": "a new number"}).encode()
            async with http.post(f"{rules}/drafts/{draft}/publish", data=reason) as response:
                published = time.monotonic()
                assert response.status == 201, await response.text()
        delays = await _reloaded(processes, published)
        print(f"seconds to use the new version (serve, worker 0, worker 1): {delays}")
        assert max(delays) <= WITHIN, delays
        # Sent now, each message is one only the new version handles (its number, its keyword).
        ids = [f"new-{uuid.uuid4().hex[:10]}" for _ in range(6)]
        for message_id in ids:
            payload = {"id": message_id, "from": "07700 900123", "to": NEW_NUMBER, "text": "maybe"}
            assert await post_generic(base, payload) == 202
        decided = await eventually(
            lambda: _decisions(database_url, ids), lambda found: len(found) == len(ids)
        )
        assert set(decided.values()) == {"appointments:confirm"}, decided

        # Decided in the worker processes, not in the one that published (serve runs no rules
        # worker); a worker's log line may follow its commit by a moment.
        async def handled() -> list[int]:
            return [sum(mid in worker.logged() for mid in ids) for worker in workers]

        await eventually(handled, lambda counts: sum(counts) == len(ids), within=5)
        assert "message_processed" not in receiver.logged()
    finally:
        for process in processes:
            if process.process.returncode is None:
                await process.terminate()
