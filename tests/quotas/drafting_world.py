"""Set-ups shared by the drafting tests: the demo's 仪征市 2024 plan, read from its notice."""

from __future__ import annotations

from django.conf import settings

from quotas.models import AnnualPlan
from quotas.services import plan_import, plan_set_status
from units.models import Jurisdiction
from units.services import jurisdiction_get_or_create

NOTICE = settings.BASE_DIR / "fixtures" / "notices" / "yizheng-2024.xlsx"


def yizheng_2024() -> tuple[Jurisdiction, AnnualPlan]:
    """仪征市 (under 扬州市, 江苏省) with its 2024 plan imported from the notice, closed: as
    `load_demo` loads it."""
    province = jurisdiction_get_or_create(name="江苏省", level=Jurisdiction.Level.PROVINCE)
    city = jurisdiction_get_or_create(name="扬州市", parent=province, level=Jurisdiction.Level.CITY)
    county = jurisdiction_get_or_create(name="仪征市", parent=city, level=Jurisdiction.Level.COUNTY)
    report = plan_import(data=NOTICE.read_bytes(), filename=NOTICE.name, jurisdiction=county, year=2024)
    assert not report.errors
    plan_set_status(plans=[report.plan], status=AnnualPlan.Status.CLOSED)
    return county, report.plan
