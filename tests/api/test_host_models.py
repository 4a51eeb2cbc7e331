"""GET /hosts/models/{path}: data-dir models for hosts off the control plane's disk, each
host with its own credential; the two kinds of token never stand in for each other."""

from __future__ import annotations

from datetime import timedelta

from renderhub.samples import install_samples
from renderhub.sessions.host_specs import data_dir_models
from tests.conftest import ControlPlane

CUBE = "samples/cube.glb"


def _host_token(plane: ControlPlane, models: list[str], lifetime: float = 600.0) -> str:
    expires = plane.clock.now().timestamp() + lifetime
    return plane.context.access.issuer.issue_host_models(plane.account.id, "s1", models, expires)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_host_fetches_its_sessions_model(plane: ControlPlane) -> None:
    response = await plane.client.get(
        f"/hosts/models/{CUBE}", headers=_bearer(_host_token(plane, [CUBE]))
    )
    assert response.status_code == 200
    assert response.content == (plane.settings.models_dir / CUBE).read_bytes()


async def test_only_the_models_its_credential_names(plane: ControlPlane) -> None:
    token = _host_token(plane, [CUBE])
    response = await plane.client.get("/hosts/models/samples/sphere.obj", headers=_bearer(token))
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert message == "This host's credential does not cover the model 'samples/sphere.obj'."


async def test_nothing_outside_the_models_directory(plane: ControlPlane) -> None:
    escape = "../keys/token-signing.pem"
    token = _host_token(plane, [escape])
    response = await plane.client.get(f"/hosts/models/{escape}", headers=_bearer(token))
    assert response.status_code == 404, response.text
    missing = await plane.client.get(
        "/hosts/models/samples/gone.glb", headers=_bearer(_host_token(plane, ["samples/gone.glb"]))
    )
    assert missing.status_code == 404
    assert "No model 'samples/gone.glb' exists" in missing.json()["error"]["message"]


async def test_an_access_token_is_not_a_host_credential(plane: ControlPlane) -> None:
    response = await plane.client.get(f"/hosts/models/{CUBE}", headers=plane.auth)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The host credential is invalid."
    assert (await plane.client.get(f"/hosts/models/{CUBE}")).status_code == 401


async def test_a_host_credential_is_not_an_access_token(plane: ControlPlane) -> None:
    response = await plane.client.get(
        plane.sessions_url(), headers=_bearer(_host_token(plane, [CUBE]))
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The access token is invalid."


async def test_an_expired_host_credential_is_refused(plane: ControlPlane) -> None:
    token = _host_token(plane, [CUBE], lifetime=60)
    plane.clock.advance(timedelta(seconds=61))
    response = await plane.client.get(f"/hosts/models/{CUBE}", headers=_bearer(token))
    assert response.status_code == 401
    assert "host credential has expired" in response.json()["error"]["message"]


def test_a_credential_names_only_data_dir_models(plane: ControlPlane) -> None:
    install_samples(plane.settings.models_dir)
    urls = [CUBE, "https://models.example/x.glb", "samples/../samples/sphere.obj"]
    found = data_dir_models(urls, plane.settings.model_policy)
    assert found == [CUBE, "samples/sphere.obj"]
