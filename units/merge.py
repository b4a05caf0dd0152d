"""Merging duplicate units into one: every row that points at a unit moves to the one kept.

A notice printed "建行" one year and "市建设银行" the next, or a unit was created twice in two
spellings: staff pick the unit to keep, and `units_merge` moves everything the others own —
aliases (their own names become aliases of the kept unit), quota memberships, subordinate units,
donations, liaisons, drives' invitations, the blood station's records, drafts' lines and any
other relation to `Unit` — in one transaction, then deletes them.

This app sits below quotas, campaigns and stations (tests/test_layers.py), so it moves their
rows through the model graph (`Unit._meta`), never by importing them:

- a foreign key to `Unit` is re-pointed with one UPDATE per model (database triggers keep the
  dashboard's tally and marks right: moving a donation moves its count and marks the plans and
  jurisdictions of both units, moving a quota membership marks its plan);
- a many-to-many link is re-pointed, and dropped where the kept unit is already linked (a group
  quota naming both, a liaison of both);
- relations listed in `DERIVED` are not moved: their rows are kept by triggers from the rows
  that are (the tally), or are history;
- a model with a history (django-simple-history) gets one entry per moved row naming the merge,
  written in one bulk insert.

Higher layers refuse a merge through `register_merge_check` (quotas: two quotas of one plan on
the same unit and period). `tests/units/test_merge.py` fails on a relation to `Unit` nobody
decided about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Unit, UnitAlias
from .naming import clean_name, normalize_name

# Relations to Unit whose rows are not moved: (app_label.model_name, field name) → why.
DERIVED: dict[tuple[str, str], str] = {
    ("campaigns.donationtally", "unit"): "kept by the donation triggers: moving donations moves the counts",
}

# Checks a higher layer registers: (kept unit, merged units) → messages; any message refuses.
_CHECKS: list[Callable[[Unit, list[Unit]], list[str]]] = []

MERGE_REASON = "合并单位：{sources} 并入 {target}"


def register_merge_check(check: Callable[[Unit, list[Unit]], list[str]]) -> None:
    """Let a higher layer refuse a merge (called from its AppConfig.ready)."""
    if check not in _CHECKS:
        _CHECKS.append(check)


class MergeRefused(Exception):
    """The merge would break a rule; `messages` say which and where."""

    def __init__(self, messages: list[str]):
        super().__init__("；".join(messages))
        self.messages = messages


@dataclass
class MergeReport:
    target: Unit
    merged: list[str]
    moved: dict[str, int] = field(default_factory=dict)  # verbose name plural → rows
    aliases_added: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return MERGE_REASON.format(sources="、".join(self.merged), target=self.target.name)

    def count(self, model, n: int, label=None) -> None:
        """`n` rows of `model` moved (under `label`, else the model's plural name)."""
        if n:
            name = str(label or model._meta.verbose_name_plural)
            self.moved[name] = self.moved.get(name, 0) + n


def unit_relations() -> list:
    """Every relation from another model (or Unit itself) to Unit, hidden ones included,
    except the history tables' copies."""
    found = []
    for relation in Unit._meta.get_fields(include_hidden=True):
        if not relation.is_relation or not relation.auto_created or relation.concrete:
            continue
        related = relation.related_model
        if getattr(related, "_meta", None) is None:
            continue
        if related.__name__.startswith("Historical") and hasattr(related, "instance_type"):
            continue
        if related._meta.auto_created:  # a many-to-many's through table: moved with its relation
            continue
        found.append(relation)
    return found


def _key(relation) -> tuple[str, str]:
    return (relation.related_model._meta.label_lower, relation.field.name)


def _write_history(model, pks: Iterable[int], *, user, reason: str) -> None:
    """One history entry per moved row of a tracked model, in one bulk insert."""
    history = getattr(model, "history", None)
    pks = list(pks)
    if history is None or not pks or not hasattr(history, "bulk_history_create"):
        return
    rows = list(model._base_manager.filter(pk__in=pks))
    history.bulk_history_create(rows, batch_size=1000, default_user=user, default_change_reason=reason)


def merge_preview(*, target: Unit, sources: list[Unit]) -> dict[str, int]:
    """What the merge would move: verbose name plural → rows (for the confirmation page)."""
    counts: dict[str, int] = {}
    for relation in unit_relations():
        if _key(relation) in DERIVED:
            continue
        model = relation.related_model
        rows = model._base_manager.filter(**{f"{relation.field.name}__in": sources})
        n = (rows.distinct() if relation.many_to_many else rows.exclude(pk=target.pk)).count()
        if n:
            name = str(model._meta.verbose_name_plural)
            if relation.field.model is Unit:
                name = str(_("下属单位"))
            counts[name] = counts.get(name, 0) + n
    return counts


def _lock(target: Unit, sources: list[Unit], scope) -> tuple[Unit, list[Unit], dict[int, Unit]]:
    """The kept and merged units, locked and read again; refused when out of scope or gone."""
    ids = sorted({u.pk for u in sources} - {target.pk})
    if not ids:
        raise MergeRefused([_("请选择至少一个要并入的其他单位。")])
    locked = {
        u.pk: u
        for u in Unit.objects.select_for_update().select_related("jurisdiction").filter(pk__in=[target.pk, *ids])
    }
    if len(locked) != len(ids) + 1:
        raise MergeRefused([_("所选单位已不存在，请刷新后重试。")])
    target, sources = locked[target.pk], [locked[pk] for pk in ids]
    if scope is not None and not all(scope.allows(u.jurisdiction) for u in [target, *sources]):
        raise PermissionDenied
    problems = [message for check in _CHECKS for message in check(target, sources)]
    if problems:
        raise MergeRefused(problems)
    return target, sources, locked


def _move_aliases(target: Unit, ids: list[int], report: MergeReport, *, user) -> set[str]:
    """The merged units' aliases become the kept unit's (one dropped where it would clash: the
    alias table is keyed by jurisdiction and normalised name). Returns the names now taken."""
    taken = set(UnitAlias.objects.filter(jurisdiction=target.jurisdiction).values_list("normalized_name", flat=True))
    keep, drop = [], []
    for alias in UnitAlias.objects.filter(unit_id__in=ids).order_by("pk"):
        clash = alias.normalized_name == target.normalized_name or (
            alias.jurisdiction_id != target.jurisdiction_id and alias.normalized_name in taken
        )
        (drop if clash else keep).append(alias.pk)
        taken.add(alias.normalized_name)
    if drop:
        UnitAlias.objects.filter(pk__in=drop).delete()
    UnitAlias.objects.filter(pk__in=keep).update(unit=target, jurisdiction=target.jurisdiction)
    _write_history(UnitAlias, keep, user=user, reason=report.reason)
    report.count(UnitAlias, len(keep))
    return taken


def _move_links(relation, target: Unit, ids: list[int], report: MergeReport) -> None:
    """A many-to-many to Unit: the merged units' links go to the kept unit, dropped where it is
    already linked (a group quota naming both) and kept once where two merged units were."""
    through = relation.field.remote_field.through
    unit_column = relation.field.m2m_reverse_field_name()  # the through's FK to Unit
    other_column = relation.field.m2m_field_name()  # the through's FK to the related model
    rows = through._base_manager.filter(**{f"{unit_column}__in": [target.pk, *ids]})
    linked = set(rows.filter(**{unit_column: target.pk}).values_list(f"{other_column}_id", flat=True))
    moving = rows.filter(**{f"{unit_column}__in": ids})
    moving.filter(**{f"{other_column}_id__in": linked}).delete()
    seen, extra = set(), []
    for pk, other in moving.order_by("pk").values_list("pk", f"{other_column}_id"):
        (extra if other in seen else []).append(pk)
        seen.add(other)
    through._base_manager.filter(pk__in=extra).delete()
    through._base_manager.filter(**{f"{unit_column}__in": ids}).update(**{unit_column: target.pk})
    report.count(relation.related_model, len(seen))


def _move_rows(relation, target: Unit, ids: list[int], report: MergeReport, *, user) -> None:
    """A foreign key to Unit: one UPDATE re-points the merged units' rows, with their history."""
    model, name = relation.related_model, relation.field.name
    rows = model._base_manager.filter(**{f"{name}__in": ids})
    if model is Unit:
        rows = rows.exclude(pk=target.pk)
    pks = list(rows.values_list("pk", flat=True))
    if not pks:
        return
    model._base_manager.filter(pk__in=pks).update(**{name: target.pk})
    _write_history(model, pks, user=user, reason=report.reason)
    report.count(model, len(pks), _("下属单位") if model is Unit else None)


def _alias_merged_names(target: Unit, sources: list[Unit], taken: set[str], report: MergeReport, *, user) -> None:
    """The merged units' names become aliases of the kept unit: next year's notice finds it."""
    for source in sources:
        name, key = clean_name(source.name), normalize_name(source.name)
        if key == target.normalized_name or key in taken:
            continue
        taken.add(key)
        alias = UnitAlias(unit=target, jurisdiction=target.jurisdiction, name=name, normalized_name=key)
        alias._change_reason = report.reason
        alias._history_user = user
        alias.full_clean()
        alias.save()
        report.aliases_added.append(name)


@transaction.atomic
def units_merge(*, target: Unit, sources: list[Unit], user=None, scope=None) -> MergeReport:
    """Merge `sources` into `target` in one transaction and delete them.

    `scope` (units.scope.Scope): every unit must lie in it, else PermissionDenied. Raises
    MergeRefused (nothing written) when a registered check refuses.
    """
    target, sources, locked = _lock(target, sources, scope)
    ids = [u.pk for u in sources]
    report = MergeReport(target=target, merged=[u.name for u in sources])
    taken = _move_aliases(target, ids, report, user=user)  # first: keyed by jurisdiction and name

    # The kept unit's own parent may be one of the merged: it takes that unit's parent.
    if target.parent_id in ids:
        parent = locked[target.parent_id].parent_id
        target.parent_id = parent if parent not in (target.pk, *ids) else None
        Unit.objects.filter(pk=target.pk).update(parent_id=target.parent_id)  # before its old parent goes

    for relation in unit_relations():
        if _key(relation) in DERIVED or relation.related_model is UnitAlias:
            continue
        if relation.many_to_many:
            _move_links(relation, target, ids, report)
        else:
            _move_rows(relation, target, ids, report, user=user)

    for source in sources:
        source._change_reason = report.reason
        source._history_user = user
        source.delete()
    _alias_merged_names(target, sources, taken, report, user=user)
    target._change_reason = report.reason
    target._history_user = user
    target.save()
    return report
