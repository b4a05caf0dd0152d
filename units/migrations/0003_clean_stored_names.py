"""Clean the names stored before names were normalised on the way in (issue 17).

Units and jurisdictions created from printed notices kept the print's layout: alignment spaces
inside a Chinese name ("人  武  部", "邮 政") and line breaks inside a cell ("镇机关\\n(含便民中心)").
Each name is rewritten with `units.naming.clean_name`, the normaliser every new name goes
through (pure Python; `normalize_name(clean_name(x)) == normalize_name(x)`, so what a name
matches does not change):

- a unit keeps its old spelling as an alias (the printed text next year's notice may repeat),
  and gets an entry in its history naming the cleaning;
- an alias's own name is cleaned the same way;
- when the cleaned name is already another unit's in the same jurisdiction (or a sibling
  jurisdiction's), nothing is merged silently: both are kept as they were and the pair is
  reported (stdout and the "units.migrations" logger) for staff to merge in the admin
  (单位 → 合并所选单位).

Reverse: nothing to undo that would not lose the cleaning; the old spellings stay as aliases.
"""

import logging
import sys

from django.db import migrations
from django.db.models import F
from django.utils import timezone

from units.naming import clean_name, normalize_name

logger = logging.getLogger("units.migrations")
REASON = "整理名称：去除排版空格和换行（数据迁移 0003），原名称保留为别名"


def _say(message: str) -> None:
    logger.warning(message)
    sys.stdout.write(f"\n  {message}")


def clean_stored_names(apps, schema_editor=None) -> dict:
    """Clean every unit, alias and jurisdiction name; returns what was done (for tests)."""
    Unit = apps.get_model("units", "Unit")
    UnitAlias = apps.get_model("units", "UnitAlias")
    Jurisdiction = apps.get_model("units", "Jurisdiction")
    HistoricalUnit = apps.get_model("units", "HistoricalUnit")
    report = {"units": [], "aliases": [], "jurisdictions": [], "collisions": []}
    now = timezone.now()

    taken = {}  # (jurisdiction id, normalised name) → unit id, and (jurisdiction id, name) → unit id
    for pk, jurisdiction_id, name, key in Unit.objects.values_list("pk", "jurisdiction_id", "name", "normalized_name"):
        taken.setdefault((jurisdiction_id, key), pk)
        taken.setdefault((jurisdiction_id, "=" + name), pk)
    alias_keys = set(UnitAlias.objects.values_list("jurisdiction_id", "normalized_name"))

    for unit in Unit.objects.order_by("pk"):
        cleaned = clean_name(unit.name)
        key = normalize_name(cleaned)
        if cleaned == unit.name and key == unit.normalized_name:
            continue
        other = taken.get((unit.jurisdiction_id, key)) or taken.get((unit.jurisdiction_id, "=" + cleaned))
        if other not in (None, unit.pk):
            report["collisions"].append((unit.pk, other))
            _say(f"单位 #{unit.pk}“{unit.name}”整理后为“{cleaned}”，与单位 #{other} 同名：两者都保留，请在后台核对后合并。")
            continue
        old = unit.name
        unit.name, unit.normalized_name = cleaned, key
        Unit.objects.filter(pk=unit.pk).update(name=cleaned, normalized_name=key)  # its history: below
        taken[(unit.jurisdiction_id, key)] = unit.pk
        taken[(unit.jurisdiction_id, "=" + cleaned)] = unit.pk
        old_key = (unit.jurisdiction_id, normalize_name(old))
        if old_key not in alias_keys:  # the old spelling, as printed, stays findable
            UnitAlias.objects.create(
                unit=unit, jurisdiction_id=unit.jurisdiction_id, name=old[:200], normalized_name=old_key[1]
            )
            alias_keys.add(old_key)
        fields = {f.attname: getattr(unit, f.attname) for f in Unit._meta.concrete_fields}
        HistoricalUnit.objects.create(
            **fields, history_date=now, history_type="~", history_change_reason=REASON, history_user=None
        )
        report["units"].append((unit.pk, old, cleaned))

    # An alias with its unit's own normalised name is a kept spelling (this migration's; the
    # services never make one): it stays as printed.
    kept = UnitAlias.objects.filter(normalized_name=F("unit__normalized_name"))
    for alias in UnitAlias.objects.exclude(pk__in=kept.values("pk")).order_by("pk"):
        cleaned = clean_name(alias.name)
        if cleaned != alias.name:  # same normalised name: no alias can collide
            report["aliases"].append((alias.pk, alias.name, cleaned))
            alias.name = cleaned
            UnitAlias.objects.filter(pk=alias.pk).update(name=cleaned)

    siblings = {}
    for pk, parent_id, name in Jurisdiction.objects.values_list("pk", "parent_id", "name"):
        siblings.setdefault((parent_id, name), pk)
    for jurisdiction in Jurisdiction.objects.order_by("path", "pk"):
        cleaned = clean_name(jurisdiction.name)
        if cleaned == jurisdiction.name:
            continue
        other = siblings.get((jurisdiction.parent_id, cleaned))
        if other not in (None, jurisdiction.pk):
            report["collisions"].append(("jurisdiction", jurisdiction.pk, other))
            _say(
                f"行政区划 #{jurisdiction.pk}“{jurisdiction.name}”整理后为“{cleaned}”，与 #{other} 同名：两者都保留，请核对。"
            )
            continue
        report["jurisdictions"].append((jurisdiction.pk, jurisdiction.name, cleaned))
        _say(f"行政区划 #{jurisdiction.pk}“{jurisdiction.name}”改为“{cleaned}”。")
        jurisdiction.name = cleaned
        Jurisdiction.objects.filter(pk=jurisdiction.pk).update(name=cleaned)
        siblings[(jurisdiction.parent_id, cleaned)] = jurisdiction.pk
    if report["units"]:
        _say(f"已整理 {len(report['units'])} 个单位名称（原名称保留为别名）。")
    return report


def forward(apps, schema_editor):
    clean_stored_names(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("units", "0002_history")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
