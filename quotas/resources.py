"""The canonical flat format of quotas (one row per quota), for django-import-export.

Columns: id, plan, unit, target, period_text, start, end, location, headcount, advisory, seq.
Export → edit in Excel → import round-trips exactly. Text that a spreadsheet would run as a
formula (starting with = + - @, a tab or a carriage return) is exported with a leading
apostrophe and imported without it; the library's own escaping only strips "=", which loses data.

Rows are matched on `id` alone (never a composite key: CachedInstanceLoader reads only the first
import id field). Unit names are matched against the plan's units and aliases; an unknown name is
a row error — new units come in through the notice import, where staff decide.
"""

from __future__ import annotations

from import_export import fields, resources, widgets

from core.xlsx import escape_formula, unescape_formula
from units.naming import clean_text
from units.scope import EVERYTHING
from units.selectors import UnitMatcher

from .models import AnnualPlan, Quota
from .notice.values import split_members

ERROR_UNKNOWN_UNIT = "未知单位“{name}”：请先在单位中新建，或用通知导入。"
ERROR_NO_PLAN = "没有编号为 {plan} 的年度计划。"


class _ScopedPlanWidget(widgets.ForeignKeyWidget):
    def __init__(self, model, *, scope, **kwargs):
        super().__init__(model, **kwargs)
        self.scope = scope

    def get_queryset(self, value, row, *args, **kwargs):
        return self.scope.filter(super().get_queryset(value, row, *args, **kwargs))


class QuotaResource(resources.ModelResource):
    plan = fields.Field(attribute="plan", column_name="plan", widget=widgets.ForeignKeyWidget(AnnualPlan))
    unit = fields.Field(attribute="label", column_name="unit")
    start = fields.Field(attribute="period_start", column_name="start", widget=widgets.DateWidget("%Y-%m-%d"))
    end = fields.Field(attribute="period_end", column_name="end", widget=widgets.DateWidget("%Y-%m-%d"))
    advisory = fields.Field(attribute="advisory", column_name="advisory", widget=widgets.BooleanWidget())

    class Meta:
        model = Quota
        import_id_fields = ["id"]
        fields = [
            "id",
            "plan",
            "unit",
            "target",
            "period_text",
            "start",
            "end",
            "location",
            "headcount",
            "advisory",
            "seq",
        ]
        export_order = fields
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def __init__(self, *, scope=EVERYTHING, **kwargs):
        """`scope`: the importing user's (the admin passes `units.scope.scope_for(user)`): rows
        name and update only plans and quotas inside it; another office's plan is "not found"."""
        super().__init__(**kwargs)
        self._matchers: dict[int, UnitMatcher] = {}
        self.scope = scope
        self.fields["plan"].widget = _ScopedPlanWidget(AnnualPlan, scope=scope)

    def get_queryset(self):
        return self.scope.filter(super().get_queryset(), "plan__jurisdiction")

    def export_field(self, field, instance, **kwargs):
        return escape_formula(super().export_field(field, instance, **kwargs))

    def before_import_row(self, row, **kwargs):
        for key in list(row.keys()):
            row[key] = unescape_formula(row[key])
        for key in ("location", "period_text"):
            if key in row and row[key] is None:
                row[key] = ""

    def before_save_instance(self, instance, row, **kwargs):
        from .services import ERROR_PLAN_LOCKED, plan_is_locked

        was_locked = instance.pk and Quota.objects.filter(pk=instance.pk, plan__status=AnnualPlan.Status.CLOSED)
        if plan_is_locked(instance.plan) or (was_locked and was_locked.exists()):
            raise ValueError(ERROR_PLAN_LOCKED.format(plan=instance.plan))
        instance.year = instance.plan.year
        instance.label = clean_text(instance.label)
        instance.full_clean(exclude=["units", "sub_jurisdiction", "source"], validate_constraints=False)
        self._unit_ids = self._resolve(instance)

    def _resolve(self, instance: Quota) -> list[int]:
        matcher = self._matchers.get(instance.plan_id)
        if matcher is None:
            matcher = self._matchers[instance.plan_id] = UnitMatcher(instance.plan.jurisdiction)
        ids = []
        for name in split_members(instance.label) or [instance.label]:
            match = matcher.match(name)
            if match.unit_id is None:
                raise ValueError(ERROR_UNKNOWN_UNIT.format(name=name))
            ids.append(match.unit_id)
        return ids

    def after_save_instance(self, instance, row, **kwargs):
        instance.units.set(self._unit_ids)
