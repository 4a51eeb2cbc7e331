from tests.conftest import ControlPlane


async def test_session_reaches_ready_with_a_real_host(plane: ControlPlane) -> None:
    response = await plane.create("first", models=["samples/cube.glb"])
    assert response.status_code == 201, response.text
    body = await plane.wait_status("first", "Ready")
    assert body["hostname"] and 49152 <= body["handshakePort"] <= 65534
