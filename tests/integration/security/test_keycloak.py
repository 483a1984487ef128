"""A real identity provider: tokens from the native Keycloak's ``waypoint`` realm are verified by
the services through its JWKS, with issuer and audience enforced."""

import base64
import json
import uuid

import httpx
import pytest

from shared.testing.services import running_service

pytestmark = pytest.mark.integration

AUDIENCE = "waypoint-api"


async def _token(keycloak, **form: str) -> str:
    async with httpx.AsyncClient() as client:
        r = await client.post(keycloak.token_url, data=form)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def user_token(keycloak, username: str) -> str:
    return await _token(keycloak, grant_type="password", client_id="waypoint-dev-cli", username=username,
                        password=f"{username}-password", scope="openid")


async def client_token(keycloak, client_id: str) -> str:
    return await _token(keycloak, grant_type="client_credentials", client_id=client_id,
                        client_secret=f"{client_id}-secret")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def idp_intake(keycloak, kafka_bootstrap, database_url):
    async with running_service("intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               jwt_jwks_url=keycloak.jwks_url, jwt_issuer=keycloak.issuer,
                               jwt_audience=AUDIENCE) as svc:
        yield svc


async def test_the_realm_puts_agency_and_roles_in_the_access_token(keycloak):
    import jwt

    claims = jwt.decode(await user_token(keycloak, "supervisor-south"), options={"verify_signature": False})
    assert (claims["agency_id"], claims["roles"], claims["aud"], claims["iss"]) == (
        "agency-south", ["supervisor"], AUDIENCE, keycloak.issuer)
    service = jwt.decode(await client_token(keycloak, "integration-ehr-north"), options={"verify_signature": False})
    assert (service["agency_id"], service["roles"]) == ("agency-north", ["integration"])


async def test_a_keycloak_token_is_accepted_through_the_jwks(keycloak, idp_intake):
    import jwt

    specialist = await user_token(keycloak, "specialist-north")
    # enrolled onto this specialist's caseload (their Keycloak subject), which opens the record to them
    me = jwt.decode(specialist, options={"verify_signature": False})["sub"]
    created = await idp_intake.client.post("/v1/participants", json={"display_name": "Robin", "specialist_id": me},
                                           headers=auth(specialist))
    assert created.status_code == 201, created.text
    pid = created.json()["participant_id"]
    assert (await idp_intake.client.get(f"/v1/participants/{pid}", headers=auth(specialist))).status_code == 200
    # another agency's user of the same realm: the same answer as an unknown id
    south = await user_token(keycloak, "specialist-south")
    assert (await idp_intake.client.get(f"/v1/participants/{pid}", headers=auth(south))).status_code == 404
    assert (await idp_intake.client.get(f"/v1/participants/{uuid.uuid4()}", headers=auth(south))).status_code == 404
    # a client-credentials token of an integration: authenticated, and held to its role
    integration = await client_token(keycloak, "integration-ehr-north")
    assert (await idp_intake.client.get("/v1/participants", headers=auth(integration))).status_code == 403


async def test_a_tampered_token_is_refused(keycloak, idp_intake):
    head, payload, signature = (await user_token(keycloak, "specialist-north")).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["agency_id"], claims["roles"] = "agency-south", ["agency_admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = await idp_intake.client.get("/v1/participants", headers=auth(f"{head}.{forged}.{signature}"))
    assert r.status_code == 401


@pytest.mark.parametrize("override", [{"jwt_audience": "another-api"}, {"jwt_issuer": "https://elsewhere.test/realms/x"}])
async def test_a_token_for_another_audience_or_issuer_is_refused(keycloak, kafka_bootstrap, database_url, override):
    settings = {"jwt_jwks_url": keycloak.jwks_url, "jwt_issuer": keycloak.issuer, "jwt_audience": AUDIENCE} | override
    async with running_service("intake", kafka_bootstrap=kafka_bootstrap, database_url=database_url,
                               **settings) as svc:
        r = await svc.client.get("/v1/participants", headers=auth(await user_token(keycloak, "specialist-north")))
    assert r.status_code == 401
