"""The models route for render hosts off the control plane's disk (Ray nodes): a host fetches
its session's data-dir models here, with the model credential the control plane gave it."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from renderhub.api.context import bearer_credential, context_of
from renderhub.errors import Forbidden, NotFound
from renderhub.host_protocol import MODELS_PATH


async def get_model(request: Request) -> FileResponse:
    """GET /hosts/models/{path}: a file under <data-dir>/models/ that the host's credential
    names (only its own session's models; access tokens are refused)."""
    context = context_of(request)
    claims = context.verifier.verify_host_models(bearer_credential(request))
    path: str = request.path_params["path"]
    if path not in claims.models:
        raise Forbidden(f"This host's credential does not cover the model {path!r}.")
    return FileResponse(_model_file(context.settings.models_dir, path))


def _model_file(models_dir: Path, path: str) -> Path:
    root = models_dir.resolve()
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise NotFound(f"No model {path!r} exists in the models directory.")
    return resolved


routes = [Route(MODELS_PATH + "/{path:path}", get_model, methods=["GET"])]
