"""Writes to jurisdictions, units and aliases; every write goes through here."""

from __future__ import annotations

from django.db import transaction

from .categories import guess_category
from .models import Jurisdiction, Unit, UnitAlias
from .naming import clean_name, normalize_name


@transaction.atomic
def jurisdiction_save(*, jurisdiction: Jurisdiction) -> Jurisdiction:
    """Save a jurisdiction and keep the materialised paths of it and its subtree right."""
    old_path = jurisdiction.path
    jurisdiction.full_clean(exclude=["path"])
    if jurisdiction.parent_id and jurisdiction.parent.path.startswith(old_path or "\0") and jurisdiction.pk:
        from django.core.exceptions import ValidationError

        raise ValidationError({"parent": "上级不能是自身或其下级。"})
    jurisdiction.save()
    new_path = f"{jurisdiction.parent.path if jurisdiction.parent_id else '/'}{jurisdiction.pk}/"
    if new_path != jurisdiction.path:
        Jurisdiction.objects.filter(pk=jurisdiction.pk).update(path=new_path)
        jurisdiction.path = new_path
        if old_path:
            for child in Jurisdiction.objects.filter(path__startswith=old_path).exclude(pk=jurisdiction.pk):
                child.path = new_path + child.path[len(old_path) :]
                child.save(update_fields=["path"])
    return jurisdiction


def jurisdiction_named(name: str, *, parent: Jurisdiction | None) -> Jurisdiction | None:
    """The child of `parent` (a top-level jurisdiction when None) that `name` names, in any
    spelling: names compare in their normalised form, as unit names do. Jurisdictions keep no
    aliases because they need none: the stored names were cleaned (migration 0003: "桑 植 县" →
    桑植县) by `clean_name`, which never changes the normalised form, so every old spelling
    still names the same jurisdiction. One query (a parent's children are a few hundred at most)."""
    key = normalize_name(name)
    for sibling in Jurisdiction.objects.filter(parent=parent).order_by("pk"):
        if normalize_name(sibling.name) == key:
            return sibling
    return None


def jurisdiction_get_or_create(
    *, name: str, parent: Jurisdiction | None = None, level: int | None = None
) -> Jurisdiction:
    """Find a jurisdiction by name (in any spelling) under a parent, or create it there."""
    existing = jurisdiction_named(name, parent=parent)
    if existing:
        return existing
    if level is None:
        level = (parent.level + 1) if parent else Jurisdiction.Level.CITY
    return jurisdiction_save(jurisdiction=Jurisdiction(name=clean_name(name), parent=parent, level=min(level, 4)))


def jurisdiction_find(name: str) -> Jurisdiction | None:
    """A jurisdiction by its name ("袁州区") or its full name ("宜春市袁州区"), in any spelling
    ("袁 州 区", as an older notice or script printed it)."""
    key = normalize_name(name)
    cleaned = clean_name(name)
    matches = list(Jurisdiction.objects.filter(name=cleaned))
    if len(matches) == 1:
        return matches[0]
    for candidate in Jurisdiction.objects.filter(name__in=[cleaned[i:] for i in range(len(cleaned))]):
        if normalize_name(candidate.full_name) == key:
            return candidate
    return matches[0] if matches else None


def unit_save(*, unit: Unit) -> Unit:
    unit.name = clean_name(unit.name)
    unit.normalized_name = normalize_name(unit.name)
    unit.full_clean()
    unit.save()
    return unit


def unit_create(*, name: str, jurisdiction: Jurisdiction, category: str | None = None, **fields) -> Unit:
    """Create a unit; its category is guessed from the name unless given."""
    unit = Unit(name=clean_name(name), jurisdiction=jurisdiction, category=category or guess_category(name), **fields)
    return unit_save(unit=unit)


def alias_create(*, unit: Unit, name: str) -> UnitAlias | None:
    """Record another name for a unit so the next import matches it; no-op for its own name."""
    key = normalize_name(name)
    if key == unit.normalized_name:
        return None
    alias, _ = UnitAlias.objects.get_or_create(
        jurisdiction=unit.jurisdiction, normalized_name=key, defaults={"unit": unit, "name": clean_name(name)}
    )
    return alias


def alias_save(*, alias: UnitAlias) -> UnitAlias:
    alias.normalized_name = normalize_name(alias.name)
    if not alias.jurisdiction_id and alias.unit_id:
        alias.jurisdiction = alias.unit.jurisdiction
    alias.full_clean()
    alias.save()
    return alias


def units_create_bulk(*, names: list[str], jurisdiction: Jurisdiction) -> list[Unit]:
    """Create many new units at once in one COPY (names distinct once normalised, not yet on
    record, and no longer than the field: the import preview checks; the unique constraint is the
    last word). Returns unsaved-looking `Unit` instances holding only pk, name, normalized_name and
    jurisdiction_id: what an import needs, without reading 20,000 full rows back."""
    from core.bulk import copy_rows

    names = [clean_name(name) for name in names]  # stored without the print's alignment spaces
    rows = [
        {
            "name": name,
            "normalized_name": normalize_name(name),
            "category": guess_category(name),
            "jurisdiction_id": jurisdiction.pk,
            "headcount": None,
            "contact_name": "",
            "contact_phone": "",
            "active": True,
        }
        for name in names
    ]
    copy_rows(Unit, rows)
    pks = dict(
        Unit.objects.filter(
            jurisdiction=jurisdiction, normalized_name__in=[r["normalized_name"] for r in rows]
        ).values_list("normalized_name", "pk")
    )
    return [
        Unit(
            pk=pks[r["normalized_name"]],
            name=r["name"],
            normalized_name=r["normalized_name"],
            jurisdiction_id=jurisdiction.pk,
        )
        for r in rows
    ]


def aliases_create_bulk(*, pairs: list[tuple[Unit, str]]) -> list[UnitAlias]:
    """Record many (unit, other name) aliases at once; names already on record are skipped."""
    aliases = []
    seen = set()
    for unit, name in pairs:
        key = normalize_name(name)
        if key == unit.normalized_name or (unit.jurisdiction_id, key) in seen:
            continue
        seen.add((unit.jurisdiction_id, key))
        aliases.append(
            UnitAlias(unit=unit, jurisdiction_id=unit.jurisdiction_id, name=clean_name(name), normalized_name=key)
        )
    return UnitAlias.objects.bulk_create(aliases, batch_size=2000, ignore_conflicts=True)


CHANGE_REASON_HEADCOUNTS = "导入总人数 {name}（SHA-256 {sha}…）：{count} 个单位"


@transaction.atomic
def unit_headcounts_set(*, changes: list[tuple[int, int]], reason: str, user=None) -> int:
    """Set many units' headcounts at once, each change an entry in its unit's history naming
    `reason` (the sheet it came from). `changes`: (unit id, headcount); returns how many changed."""
    from simple_history.utils import bulk_update_with_history

    wanted = dict(changes)
    units = [u for u in Unit.objects.filter(pk__in=wanted).select_for_update() if u.headcount != wanted[u.pk]]
    for unit in units:
        unit.headcount = wanted[unit.pk]
    bulk_update_with_history(
        units, Unit, ["headcount"], batch_size=1000, default_user=user, default_change_reason=reason
    )
    return len(units)
