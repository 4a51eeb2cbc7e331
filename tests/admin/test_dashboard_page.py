"""GET /admin/dashboard and its static files on an in-process control plane: served without a
token (they hold no data), under a policy that lets the page run only its own scripts and talk
only to this server; uPlot byte for byte as vendored; and every file the pages need shipped
as package data."""

from __future__ import annotations

import fnmatch
import hashlib
import tomllib
from importlib.resources import files
from pathlib import Path

import renderhub
from tests.conftest import ControlPlane

ROOT = Path(__file__).resolve().parents[2]
WEB_FOLDERS = ("admin/web", "host/web", "web_vendor/uplot")


async def test_the_dashboard_page_needs_no_token_and_holds_no_data(plane: ControlPlane) -> None:
    page = await plane.client.get("/admin/dashboard")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    for rule in ("default-src 'none'", "script-src 'self'", "connect-src 'self'"):
        assert rule in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    assert plane.account.id not in page.text and plane.admin_token not in page.text
    for script in ("static/uplot/uPlot.iife.min.js", "static/dashboard.js"):
        assert f'src="{script}"' in page.text
    for sheet in ("static/uplot/uPlot.min.css", "static/dashboard.css"):
        assert f'href="{sheet}"' in page.text


async def test_its_static_files_and_the_vendored_uplot_are_served(plane: ControlPlane) -> None:
    recorded = files("renderhub.web_vendor").joinpath("uplot/VERSION").read_text()
    for name, media in (("uPlot.iife.min.js", "text/javascript"), ("uPlot.min.css", "text/css")):
        answer = await plane.client.get(f"/admin/static/uplot/{name}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media)
        assert f"{hashlib.sha256(answer.content).hexdigest()}  {name}" in recorded
    assert recorded.startswith("uplot 1.6.")
    for name, media in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        answer = await plane.client.get(f"/admin/static/{name}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media)
    assert (await plane.client.get("/admin/static/nothing.js")).status_code == 404


def test_every_file_the_pages_need_is_package_data() -> None:
    """A wheel ships only what package-data names: every file of the pages' folders must match
    one of its patterns (an editable install would not notice a missing one)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["renderhub"]
    package = Path(renderhub.__file__).parent
    shipped = [
        path.relative_to(package).as_posix()
        for folder in WEB_FOLDERS
        for path in (package / folder).iterdir()
        if path.is_file() and path.suffix != ".py"
    ]
    assert {"web_vendor/uplot/LICENSE", "admin/web/dashboard.js"} <= set(shipped)
    missing = [name for name in shipped if not any(fnmatch.fnmatch(name, p) for p in patterns)]
    assert missing == []
