"""The one shape of the four services, kept by the test run (so in CI): every route takes its
caller through ``shared.routes``, every service reads from its own views module and its routes run
no SQL, and no function is longer than a screen."""

from __future__ import annotations

import ast
import importlib
import typing
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from shared.routes import Call

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "planning", "monitoring", "notifications")
#: a function longer than this does not read on one screen
MAX_FUNCTION_LINES = 60


def _routes(routes: typing.Iterable[typing.Any]) -> typing.Iterator[APIRoute]:
    """The API routes of an app, through the routers it includes."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI keeps an included router whole
            yield from _routes(route.original_router.routes)


def _takes_a_call(route: APIRoute) -> bool:
    hints = typing.get_type_hints(route.endpoint, include_extras=True)
    return any(
        typing.get_origin(hint) is typing.Annotated and typing.get_args(hint)[0] is Call for hint in hints.values()
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_takes_its_caller_through_shared_routes(service: str) -> None:
    app = importlib.import_module(f"services.{service}.entrypoints.app").create_app()
    # the kernel's own routes (health, metrics, docs, operators' status) are not the service's
    routes = [r for r in _routes(app.routes) if r.endpoint.__module__.startswith(f"services.{service}.")]
    assert routes, f"{service} has no routes?"
    odd = [f"{sorted(r.methods or ())} {r.path}" for r in routes if not _takes_a_call(r)]
    assert not odd, f"routes of {service} without a shared.routes Call parameter (StaffCall, ...): {odd}"


@pytest.mark.parametrize("service", SERVICES)
def test_reads_live_in_the_views_module_and_routes_run_no_sql(service: str) -> None:
    assert (REPO / "services" / service / "views.py").is_file()
    for path in (REPO / "services" / service / "entrypoints").glob("*_api.py"):
        _assert_no_sql(path)
    _assert_no_sql(REPO / "services" / service / "entrypoints" / "api.py")


def _assert_no_sql(path: Path) -> None:
    if not path.is_file():
        return
    calls = [
        node.lineno for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("fetch", "fetchrow", "fetchval", "execute", "executemany")
    ]
    assert not calls, f"{path.relative_to(REPO)} runs SQL at lines {calls}: put the query in views.py"


def test_no_function_is_longer_than_a_screen() -> None:
    long = []
    for path in sorted([*(REPO / "shared").rglob("*.py"), *(REPO / "services").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them):\n" + "\n".join(long)


def test_the_runtime_has_no_string_keyed_extras() -> None:
    from shared.runtime import Runtime

    assert "extras" not in Runtime.__dataclass_fields__, "use Runtime.provide(part) / Runtime.part(Type)"
