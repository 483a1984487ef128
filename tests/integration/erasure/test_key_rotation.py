"""``waypoint keys rotate`` on real PostgreSQL: every data key is re-wrapped under the new master
key, the data sealed before still opens with the new key alone, and nothing is re-encrypted."""

import asyncio
import base64
import os
import uuid

import asyncpg
import pytest
from erasure_helpers import Person, Staff
from typer.testing import CliRunner

from deploy.cli import app
from shared.keyring import DEV_MASTER_KEY, DEV_MASTER_KEY_ID, KeyRing, MasterKeys

pytestmark = pytest.mark.integration


async def _rows(dsn: str, pid: str) -> tuple[list[asyncpg.Record], asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT set_config('waypoint.system', 'on', false)")
        keys = await conn.fetch("SELECT participant_id, master_key_id, wrapped_key FROM data_keys")
        person = await conn.fetchrow("SELECT display_name FROM participants WHERE participant_id = $1",
                                     uuid.UUID(pid))
        return keys, person
    finally:
        await conn.close()


def _rotate(env: dict[str, str]) -> str:
    result = CliRunner().invoke(app, ["keys", "rotate", "intake"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def test_rotation_rewraps_every_data_key_and_the_old_master_key_can_then_go(er_intake):
    person = Person()
    staff = Staff(er_intake.client, f"agency-{uuid.uuid4().hex[:8]}", "spec-1", ("specialist",))
    pid = (await staff.post("/v1/participants", person.enrolment("spec-1"))).json()["participant_id"]
    before, row = await _rows(er_intake.dsn, pid)
    assert {k["master_key_id"] for k in before if k["wrapped_key"] is not None} == {DEV_MASTER_KEY_ID}

    new = base64.b64encode(os.urandom(32)).decode()
    env = {"INTAKE_DATABASE_URL": er_intake.dsn, "WAYPOINT_MASTER_KEY": new, "WAYPOINT_MASTER_KEY_ID": "k2",
           "WAYPOINT_PREVIOUS_MASTER_KEYS": f"{DEV_MASTER_KEY_ID}={DEV_MASTER_KEY}"}
    output = await asyncio.to_thread(_rotate, env)
    assert "re-wrapped under k2" in output
    after, same_row = await _rows(er_intake.dsn, pid)
    live = [k for k in after if k["wrapped_key"] is not None]
    assert live and {k["master_key_id"] for k in live} == {"k2"}
    assert same_row["display_name"] == row["display_name"]  # the sealed value itself is untouched

    only_new = KeyRing(MasterKeys.parse(new, "k2", development=False))
    conn = await asyncpg.connect(er_intake.dsn)
    try:
        await conn.execute("SELECT set_config('waypoint.system', 'on', false)")
        opened = await only_new.keys(conn, [uuid.UUID(pid)])
    finally:
        await conn.close()
    assert opened.open(uuid.UUID(pid), "participants.display_name", row["display_name"]) == person.name

    # and back, so the running intake (development key) keeps opening what the other tests wrote
    back = {"INTAKE_DATABASE_URL": er_intake.dsn, "WAYPOINT_MASTER_KEY": DEV_MASTER_KEY,
            "WAYPOINT_MASTER_KEY_ID": DEV_MASTER_KEY_ID, "WAYPOINT_PREVIOUS_MASTER_KEYS": f"k2={new}"}
    await asyncio.to_thread(_rotate, back)
    shown = (await staff.get(f"/v1/participants/{pid}")).json()
    assert shown["display_name"] == person.name
