"""Assessment forms from intake's instrument catalogue (``GET /v1/instruments``): every item with
its own answer choices, and the API body a filled form becomes.

The catalogue is the same for every agency and changes only with intake's code, so the console
keeps the first copy it reads for the life of the process.
"""

from __future__ import annotations

from typing import Any

from services.console.clients import Api

Catalogue = dict[str, dict[str, Any]]


async def catalogue(app_state: Any, client: Api) -> Catalogue:
    cached: Catalogue | None = getattr(app_state, "instruments", None)
    if cached is None:
        listed = (await client.get("intake", "/v1/instruments"))["instruments"]
        cached = app_state.instruments = {i["key"]: i for i in listed}
    return cached


def field(spec: dict[str, Any], index: int) -> str:
    return f"item-{index}"


def missing(spec: dict[str, Any], form: dict[str, Any]) -> list[int]:
    return [i for i in range(len(spec["items"])) if not str(form.get(field(spec, i), "")).isdigit()]


def body_of(spec: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The API body for one instrument from the form's ``item-N`` (and BAM's ``sub-7A``...) fields."""
    answers = [int(str(form[field(spec, i)])) for i in range(len(spec["items"]))]
    if all("key" in item for item in spec["items"]):  # rated by dimension (ASAM)
        return {spec["key"]: {item["key"]: a for item, a in zip(spec["items"], answers, strict=True)}}
    section: dict[str, Any] = {"answers": answers}
    subs = {s["key"]: int(str(form[f"sub-{s['key']}"])) for s in spec.get("sub_items", [])
            if str(form.get(f"sub-{s['key']}", "")).isdigit()}
    if subs:
        section["substances"] = subs
    return {spec["key"]: section}
