"""`manage.py import_notice FILE --jurisdiction NAME --year YEAR [--dry-run] [--json]`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from quotas.models import AnnualPlan, Quota
from units.models import Jurisdiction

from .workbooks import xlsx

NOTICES = Path(__file__).resolve().parents[2] / "fixtures" / "notices"
pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_notice", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_dry_run_json_is_the_expected_schema_and_writes_nothing():
    path = NOTICES / "yuanzhou-2023.xlsx"
    document = json.loads(run(str(path), "--jurisdiction", "宜春市袁州区", "--year", "2023", "--dry-run", "--json"))
    expected = json.loads((NOTICES / "yuanzhou-2023.xlsx.expected.json").read_text(encoding="utf-8"))
    assert document["plan"]["jurisdiction"] == "宜春市袁州区" and document["plan"]["year"] == 2023
    assert {k: len(v) for k, v in document["sheets"].items()} == {k: len(v) for k, v in expected["sheets"].items()}
    assert set(document["sheets"]["附件1"][0]) >= {
        "unit",
        "members",
        "target",
        "period_label",
        "start",
        "end",
        "advisory",
        "location",
        "headcount",
        "seq",
    }
    assert document["errors"] == [] and (AnnualPlan.objects.count(), Jurisdiction.objects.count()) == (0, 0)


def test_apply_creates_jurisdiction_and_units():
    out = run(str(NOTICES / "rugao-2023.xlsx"), "--jurisdiction", "如皋市", "--year", "2023")
    assert "已导入" in out and Quota.objects.count() == 95
    assert AnnualPlan.objects.get().jurisdiction.name == "如皋市"


def test_errors_exit_non_zero(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx([["单位", "任务数"], ["甲局", "很多"]]))
    with pytest.raises(CommandError):
        run(str(bad), "--jurisdiction", "如皋市", "--year", "2023", "--json")
    assert AnnualPlan.objects.count() == 0
