from tests.conftest import ControlPlane


async def test_session_reaches_ready_where_the_backend_put_its_host(plane: ControlPlane) -> None:
    response = await plane.create("first", models=["samples/cube.glb"])
    assert response.status_code == 201, response.text
    body = await plane.wait_status("first", "Ready")
    [spec] = plane.backend.starts
    assert (spec.session_id, spec.models) == ("first", ["samples/cube.glb"])
    state = (await plane.row("first")).backend_state
    assert body["hostname"] == state["address"] == "127.0.0.1"
    assert (body["handshakePort"], body["arrInspectorPort"]) == (
        state["port"],
        state["inspectorPort"],
    )
    assert 49152 <= body["handshakePort"] <= 65534
