"""The plan editor's form: every section planning lets a client edit, as HTML fields and back.

Two sections are one item per line (warning signs, healthy alternatives); the others have one group
of fields per item (``<section>-<row>-<field>``), an empty group at the end for a new item, and a
"Remove" box on the ones that exist. An item keeps what the editor does not show (its id, tags,
the trigger it came from, library keys of coping strategies) from the version the edit started at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.catalogue.planning import GoalStatus, SituationCategory, SupportGroupKind

CONTACT_ROLES = ("sponsor", "family", "friend", "peer", "partner", "counsellor", "clinician", "other")
GROUP_STATUSES = ("suggested", "attending", "declined", "stopped")
#: one item per line: (section, its label, the item's text field)
LINE_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("warning_signs", "Warning signs", "text"),
    ("healthy_alternatives", "Healthy alternatives", "activity"),
)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | select | checkbox | time | date | tel | email | lines
    options: tuple[str, ...] = ()
    hint: str = ""
    sub: str = ""  # lines: the text field of each sub-item


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    item: str  # one item, as a legend says it
    fields: tuple[Field, ...] = field(default_factory=tuple)


ITEM_SECTIONS: tuple[Section, ...] = (
    Section("high_risk_situations", "High-risk situations and coping strategies", "High-risk situation", (
        Field("category", "Kind of situation", "select", tuple(c.value for c in SituationCategory)),
        Field("description", "What happens"),
        Field("strategies", "Coping strategies", "lines", hint="One per line", sub="text"),
    )),
    Section("support_network", "Support network", "Contact", (
        Field("name", "Name"),
        Field("role", "Relationship", "select", CONTACT_ROLES),
        Field("phone", "Phone", "tel"),
        Field("email", "Email", "email"),
        Field("may_contact", "The agency may contact them", "checkbox"),
    )),
    Section("daily_routine", "Daily routine", "Routine entry", (
        Field("at", "At", "time"),
        Field("activity", "Activity"),
    )),
    Section("goals", "Goals", "Goal", (
        Field("description", "Goal"),
        Field("status", "Status", "select", tuple(s.value for s in GoalStatus)),
        Field("target_date", "Target date", "date"),
    )),
    Section("support_groups", "Support groups", "Support group", (
        Field("kind", "Kind", "select", tuple(k.value for k in SupportGroupKind)),
        Field("name", "Name", hint="Optional"),
        Field("schedule", "When it meets", hint="Optional"),
        Field("status", "Status", "select", GROUP_STATUSES),
    )),
)
SECTIONS = {s.name: s for s in ITEM_SECTIONS}

Row = dict[str, str]


def values_of(plan: dict[str, Any]) -> dict[str, Any]:
    """The form's values for a plan as planning returns it, an empty row after each item section."""
    sections = plan.get("sections") or {}
    out: dict[str, Any] = {name: "\n".join(str(i[f]) for i in sections.get(name, [])) for name, _, f in LINE_SECTIONS}
    for s in ITEM_SECTIONS:
        out[s.name] = [_row(s, item) for item in sections.get(s.name, [])] + [_blank(s)]
    return {**out, "status": plan.get("status", ""), "version": str(plan.get("version", ""))}


def _row(section: Section, item: dict[str, Any]) -> Row:
    row = {"id": str(item.get("id") or "")}
    for f in section.fields:
        value = item.get(f.name)
        if f.kind == "lines":
            row[f.name] = "\n".join(str(sub[f.sub]) for sub in value or [])
        elif f.kind == "checkbox":
            row[f.name] = "on" if value else ""
        elif f.kind == "time" and value:
            row[f.name] = str(value)[:5]
        else:
            row[f.name] = "" if value is None else str(value)
    return row


def _blank(section: Section) -> Row:
    return {"id": "", **{f.name: (f.options[0] if f.kind == "select" and f.name == "status" else "")
                         for f in section.fields}}


def values_from(form: dict[str, Any], add: str = "") -> dict[str, Any]:
    """The form's values as posted (to show again after a refusal), one more empty row in ``add``."""
    out: dict[str, Any] = {name: str(form.get(name, "")) for name, _, _ in LINE_SECTIONS}
    for s in ITEM_SECTIONS:
        rows = []
        for i in range(_count(form, s.name)):
            row = {"id": str(form.get(f"{s.name}-{i}-id", ""))}
            row.update({f.name: str(form.get(f"{s.name}-{i}-{f.name}", "")) for f in s.fields})
            if form.get(f"{s.name}-{i}-remove"):
                row["remove"] = "on"
            rows.append(row)
        if add == s.name or not rows or _filled(s, rows[-1]):
            rows.append(_blank(s))
        out[s.name] = rows
    return {**out, "status": str(form.get("status", "")), "version": str(form.get("version", ""))}


def _count(form: dict[str, Any], section: str) -> int:
    try:
        return max(0, min(int(str(form.get(f"{section}-count", "0"))), 200))
    except ValueError:
        return 0


def _filled(section: Section, row: Row) -> bool:
    """Whether a row holds anything typed (a select's first choice alone is not typing)."""
    return any(row.get(f.name) for f in section.fields if f.kind != "select")


@dataclass
class Edit:
    """What the form asks planning to save, and which form row each item of the body came from."""

    sections: dict[str, list[dict[str, Any]]]
    rows: dict[str, list[int]]

    def field_errors(self, errors: dict[str, str]) -> dict[str, str]:
        """Planning's ``sections.<name>.<index>.<field>`` messages keyed by the form's ``<name>-<row>-<field>``;
        a message about a whole section under its name."""
        out: dict[str, str] = {}
        for path, message in errors.items():
            parts = path.split(".")
            if len(parts) < 2 or parts[0] != "sections":
                continue
            name = parts[1]
            if len(parts) >= 4 and parts[2].isdigit() and name in self.rows and int(parts[2]) < len(self.rows[name]):
                out.setdefault(f"{name}-{self.rows[name][int(parts[2])]}-{parts[3]}", message)
            else:
                out.setdefault(name, message)
        return out


def edit_from(form: dict[str, Any], current: dict[str, Any]) -> Edit:
    """The sections as the form has them, on top of ``current`` (the version the edit started at)."""
    old = current.get("sections") or {}
    sections: dict[str, list[dict[str, Any]]] = {}
    for name, _, text_field in LINE_SECTIONS:
        by_text = {item[text_field]: item for item in old.get(name, [])}
        lines = (raw.strip() for raw in str(form.get(name, "")).splitlines())
        sections[name] = [by_text.get(line, {text_field: line}) for line in lines if line]
    rows: dict[str, list[int]] = {}
    for s in ITEM_SECTIONS:
        by_id = {str(item.get("id")): item for item in old.get(s.name, []) if item.get("id")}
        items, taken = [], []
        for i in range(_count(form, s.name)):
            if form.get(f"{s.name}-{i}-remove"):
                continue
            row = {f.name: str(form.get(f"{s.name}-{i}-{f.name}", "")).strip() for f in s.fields}
            if not _filled(s, row):
                continue
            before = by_id.get(str(form.get(f"{s.name}-{i}-id", "")), {})
            items.append(_item(s, row, before))
            taken.append(i)
        sections[s.name] = items
        rows[s.name] = taken
    return Edit(sections, rows)


def _item(section: Section, row: Row, before: dict[str, Any]) -> dict[str, Any]:
    item = dict(before)
    for f in section.fields:
        value = row[f.name]
        if f.kind == "lines":
            kept = {str(sub[f.sub]): sub for sub in before.get(f.name, [])}
            item[f.name] = [kept.get(line, {f.sub: line}) for line in (v.strip() for v in value.splitlines()) if line]
        elif f.kind == "checkbox":
            item[f.name] = bool(value)
        elif value:
            item[f.name] = value
        else:
            item.pop(f.name, None)  # left empty: planning's default (or nothing, for an optional field)
    return item
