"""Forms of the drafting pages: start a draft, its settings and rules, one line, a headcount sheet."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from units.models import Unit

from ..forms import check_upload_size
from ..models import DraftLine, PlanDraft
from .allocation import FIXED, LAST_COMPLETED, LAST_TASK, RATE
from .periods import periods
from .selectors import SUB_JURISDICTION

RULE_CHOICES = [
    (RATE, _("总人数 × 比例")),
    (LAST_TASK, _("上年任务数 × 倍数")),
    (LAST_COMPLETED, _("上年完成数 × 倍数")),
    (FIXED, _("固定人数")),
]
CATEGORY_LABELS = {**dict(Unit.Category.choices), SUB_JURISDICTION: _("下级行政区划")}
MONTH_NAMES = [
    _("1月"),
    _("2月"),
    _("3月"),
    _("4月"),
    _("5月"),
    _("6月"),
    _("7月"),
    _("8月"),
    _("9月"),
    _("10月"),
    _("11月"),
    _("12月"),
]
ERROR_PASTE = _("请粘贴 12 个数（从 Excel 复制一行或一列即可）。")
ERROR_SPLIT = _("拆分数须为用逗号分开的整数，个数与所选时间相同。")


def category_label(category: str) -> str:
    return str(CATEGORY_LABELS.get(category, category))


class DraftCreateForm(forms.Form):
    jurisdiction = forms.ModelChoiceField(queryset=None, label=_("行政区划"))
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)

    def __init__(self, *args, jurisdictions, today: dt.date, own=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].queryset = jurisdictions
        self.fields["year"].initial = today.year + 1
        if own is not None:
            self.fields["jurisdiction"].initial = own.pk


class DraftSettingsForm(forms.Form):
    """The draft's settings and one rule per category present in its lines."""

    total = forms.IntegerField(label=_("计划总数"), min_value=0, required=False)
    fit_total = forms.BooleanField(label=_("按总数调整"), required=False)
    minimum = forms.IntegerField(label=_("每单位最低任务数"), min_value=0, initial=0)
    period_kind = forms.ChoiceField(label=_("时间粒度"), choices=PlanDraft.PeriodKind.choices)
    title = forms.CharField(label=_("附件标题"), max_length=200, required=False)
    attachment_label = forms.CharField(label=_("附件编号"), max_length=20, required=False)
    default_location = forms.CharField(label=_("默认献血地点"), max_length=200, required=False)
    demand_paste = forms.CharField(
        label=_("粘贴 12 个月的用血量"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("可从 Excel 复制一行或一列；填写后覆盖下面 12 个格子。"),
    )

    def __init__(self, *args, draft: PlanDraft, categories: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.draft = draft
        self.categories = categories
        demand = draft.demand if len(draft.demand or []) == 12 else [1] * 12
        for m in range(12):
            self.fields[f"demand_{m}"] = forms.DecimalField(
                label=MONTH_NAMES[m], min_value=0, initial=demand[m], max_digits=12, decimal_places=2
            )
        for category in categories:
            entry = (draft.rules or {}).get(category, {"kind": LAST_TASK, "value": "1", "scalable": True})
            value = Decimal(str(entry.get("value", "1")))
            if entry.get("kind") == RATE:
                value = value * 100  # shown as a percentage
            self.fields[f"rule_{category}_kind"] = forms.ChoiceField(
                label=category_label(category), choices=RULE_CHOICES, initial=entry.get("kind")
            )
            self.fields[f"rule_{category}_value"] = forms.DecimalField(
                label=_("数值"), min_value=0, max_digits=10, decimal_places=4, initial=value.normalize()
            )
            self.fields[f"rule_{category}_scalable"] = forms.BooleanField(
                label=_("参与调整"), required=False, initial=entry.get("scalable", True)
            )
        if not self.is_bound:
            for name in (
                "total",
                "fit_total",
                "minimum",
                "period_kind",
                "title",
                "attachment_label",
                "default_location",
            ):
                self.fields[name].initial = getattr(draft, name)

    def rule_rows(self):
        """(label, kind field, value field, scalable field) per category, for the template."""
        return [
            (
                category_label(c),
                c,
                self[f"rule_{c}_kind"],
                self[f"rule_{c}_value"],
                self[f"rule_{c}_scalable"],
            )
            for c in self.categories
        ]

    def demand_fields(self):
        return [self[f"demand_{m}"] for m in range(12)]

    def clean_demand_paste(self):
        text = self.cleaned_data.get("demand_paste", "").strip()
        if not text:
            return None
        numbers = [n for n in re.split(r"[\s,，;；、]+", text) if n]
        try:
            values = [Decimal(n) for n in numbers]
        except ArithmeticError:
            raise forms.ValidationError(ERROR_PASTE)
        if len(values) != 12 or any(v < 0 for v in values):
            raise forms.ValidationError(ERROR_PASTE)
        return values

    def settings(self) -> dict:
        """The cleaned form as `draft_update` takes it."""
        data = self.cleaned_data
        demand = data.get("demand_paste") or [data[f"demand_{m}"] for m in range(12)]
        rules = {}
        for category in self.categories:
            kind = data[f"rule_{category}_kind"]
            value = data[f"rule_{category}_value"]
            rules[category] = {
                "kind": kind,
                "value": value / 100 if kind == RATE else value,
                "scalable": data[f"rule_{category}_scalable"],
            }
        return {
            "total": data["total"],
            "fit_total": data["fit_total"],
            "minimum": data["minimum"],
            "period_kind": data["period_kind"],
            "title": data["title"],
            "attachment_label": data["attachment_label"],
            "default_location": data["default_location"],
            "demand": [int(v) if v == v.to_integral_value() else float(v) for v in demand],
            "rules": rules,
        }


class LineForm(forms.Form):
    """One line's adjustments."""

    override = forms.IntegerField(label=_("指定任务数"), min_value=0, required=False, help_text=_("留空：按规则计算。"))
    excluded = forms.BooleanField(label=_("本年不分配"), required=False)
    category = forms.ChoiceField(label=_("类别（决定所用规则）"))
    period_mode = forms.ChoiceField(label=_("时间安排"), choices=DraftLine.PeriodMode.choices, widget=forms.RadioSelect)
    fixed_periods = forms.TypedMultipleChoiceField(
        label=_("固定时间"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("选一个：每年固定在这个时间；选几个：拆分到这几个时间。"),
    )
    split_amounts = forms.CharField(
        label=_("拆分数"),
        required=False,
        help_text=_("如“150,150,100”；留空则平均拆分。数字作为比例，合计随任务数调整。"),
    )
    label = forms.CharField(label=_("附件中印的名称"), max_length=500)
    location = forms.CharField(label=_("献血地点"), max_length=200, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, line: DraftLine, **kwargs):
        super().__init__(*args, **kwargs)
        draft = line.draft
        self.line = line
        categories = dict.fromkeys([*Unit.Category.values, SUB_JURISDICTION])
        self.fields["category"].choices = [(c, category_label(c)) for c in categories]
        self.fields["fixed_periods"].choices = [(p.index, p.label) for p in periods(draft.period_kind, draft.year)]
        if not self.is_bound:
            for name in (
                "override",
                "excluded",
                "category",
                "period_mode",
                "fixed_periods",
                "label",
                "location",
                "note",
            ):
                self.fields[name].initial = getattr(line, name)
            self.fields["split_amounts"].initial = ",".join(str(a) for a in line.split_amounts)

    def clean_split_amounts(self):
        text = self.cleaned_data.get("split_amounts", "").strip()
        if not text:
            return []
        try:
            values = [int(v) for v in re.split(r"[\s,，、;；]+", text) if v]
        except ValueError:
            raise forms.ValidationError(ERROR_SPLIT)
        if any(v < 0 for v in values):
            raise forms.ValidationError(ERROR_SPLIT)
        return values

    def clean(self):
        data = super().clean()
        if data.get("period_mode") == DraftLine.PeriodMode.FIXED:
            if not data.get("fixed_periods"):
                self.add_error("fixed_periods", _("请选择固定的时间。"))
            elif data.get("split_amounts") and len(data["split_amounts"]) != len(data["fixed_periods"]):
                self.add_error("split_amounts", ERROR_SPLIT)
        for name in ("label", "location"):
            if (data.get(name) or "").startswith(("=", "+", "-", "@")):
                self.add_error(name, _("不能以 = + - @ 开头（表格软件会把它当作公式）。"))
        return data

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        if data["period_mode"] != DraftLine.PeriodMode.FIXED:
            data["fixed_periods"], data["split_amounts"] = [], []
        return data


class AddUnitsForm(forms.Form):
    units = forms.ModelMultipleChoiceField(
        queryset=None, label=_("添加单位"), widget=forms.SelectMultiple(attrs={"size": 8})
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = units


class HeadcountUploadForm(forms.Form):
    jurisdiction = forms.ModelChoiceField(queryset=None, label=_("行政区划"))
    file = forms.FileField(
        label=_("人数表"),
        help_text=_("Excel、CSV 或 Word 表格：一列单位名称，一列总人数（或适龄员工数），表头在哪一行都可以。"),
    )

    def __init__(self, *args, jurisdictions, initial_jurisdiction=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].queryset = jurisdictions
        if initial_jurisdiction is not None:
            self.fields["jurisdiction"].initial = initial_jurisdiction.pk

    def clean_file(self):
        return check_upload_size(self.cleaned_data["file"])
