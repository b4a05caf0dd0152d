"""Annual plans (年度无偿献血计划), their quotas (任务数) and the notice files they came from."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from units.models import Jurisdiction, Unit

from .querysets import PlanQuerySet


class AnnualPlan(models.Model):
    """A jurisdiction's plan for one year, as its government's notice sets it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        CLOSED = "closed", _("已结束")

    class Measure(models.TextChoices):
        PERSONS = "persons", _("人（人次）")
        BLOOD_UNITS = "units", _("单位（U）")

    jurisdiction = models.ForeignKey(
        Jurisdiction, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="plans"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    document_number = models.CharField(_("文号"), max_length=100, blank=True, default="")
    title = models.CharField(_("标题"), max_length=200, blank=True, default="")
    issuing_office = models.CharField(_("发文机关"), max_length=100, blank=True, default="")
    issue_date = models.DateField(_("发文日期"), null=True, blank=True)
    declared_total = models.PositiveIntegerField(
        _("计划总数"), null=True, blank=True, help_text=_("通知中写明的总任务数；可以大于各单位任务之和。")
    )
    total_measure = models.CharField(_("总数单位"), max_length=10, choices=Measure.choices, default=Measure.PERSONS)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    notes = models.TextField(_("说明"), blank=True, default="", help_text=_("通知附件中的说明、注等文字。"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = PlanQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("年度计划变更记录"), verbose_name_plural=_("年度计划变更记录"))

    class Meta:
        verbose_name = _("年度计划")
        verbose_name_plural = _("年度计划")
        ordering = ["-year", "jurisdiction__path"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "year"], name="plan_one_per_jurisdiction_year"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="plan_year_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction} {self.year}"

    @property
    def year_start(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def year_end(self) -> dt.date:
        return dt.date(self.year, 12, 31)


def plan_source_path(instance: PlanSource, filename: str) -> str:
    return f"notices/{instance.plan.year}/{instance.plan.jurisdiction_id}/{filename}"


class PlanSource(models.Model):
    """A notice file kept with its plan: the attachment workbook or the notice text."""

    plan = models.ForeignKey(AnnualPlan, verbose_name=_("年度计划"), on_delete=models.CASCADE, related_name="sources")
    file = models.FileField(_("文件"), upload_to=plan_source_path)
    original_name = models.CharField(_("原文件名"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导入人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(_("导入时间"), auto_now_add=True)
    summary = models.JSONField(_("导入结果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("通知文件")
        verbose_name_plural = _("通知文件")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class Quota(models.Model):
    """One row of an attachment: a unit (or a group sharing one number, or a sub-jurisdiction),
    its number, and when and where it is due."""

    plan = models.ForeignKey(AnnualPlan, verbose_name=_("年度计划"), on_delete=models.CASCADE, related_name="quotas")
    # The plan's year, copied so that "the period lies inside the plan year" is a constraint.
    year = models.PositiveSmallIntegerField(_("年度"), editable=False)
    label = models.CharField(_("单位（原文）"), max_length=500, help_text=_("通知中印的单位名称。"))
    units = models.ManyToManyField(Unit, verbose_name=_("单位"), related_name="quotas", blank=True)
    sub_jurisdiction = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("下级行政区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="allocated_quotas",
        help_text=_("任务下达给下级区县或乡镇时填写；其完成数由下级自己的计划汇总。"),
    )
    target = models.IntegerField(_("任务数"))
    period_text = models.CharField(_("时间（原文）"), max_length=100, blank=True, default="")
    period_start = models.DateField(_("开始日期"), null=True, blank=True)
    period_end = models.DateField(_("截止日期"), null=True, blank=True)
    location = models.CharField(_("献血地点"), max_length=200, blank=True, default="")
    headcount = models.PositiveIntegerField(_("总人数"), null=True, blank=True)
    advisory = models.BooleanField(
        _("指导性"), default=False, help_text=_("通知中带括号的数字：仅作参考，不计入合计。")
    )
    seq = models.PositiveIntegerField(_("序号"), null=True, blank=True)
    source = models.ForeignKey(
        PlanSource, verbose_name=_("来源文件"), null=True, blank=True, on_delete=models.SET_NULL, related_name="quotas"
    )
    source_sheet = models.CharField(_("工作表"), max_length=100, blank=True, default="")
    source_cell = models.CharField(_("单元格"), max_length=20, blank=True, default="")
    position = models.PositiveIntegerField(_("顺序"), default=0)

    history = HistoricalRecords(verbose_name=_("任务变更记录"), verbose_name_plural=_("任务变更记录"))

    class Meta:
        verbose_name = _("任务")
        verbose_name_plural = _("任务")
        ordering = ["plan", "position", "id"]
        indexes = [models.Index(fields=["plan", "period_end"], name="quota_plan_due")]
        constraints = [
            models.CheckConstraint(condition=Q(target__gte=0), name="quota_target_not_negative"),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True)
                | Q(period_end__isnull=True)
                | Q(period_start__lte=F("period_end")),
                name="quota_period_start_before_end",
            ),
            models.CheckConstraint(
                condition=(Q(period_start__isnull=True) & Q(period_end__isnull=True))
                | (Q(period_start__isnull=False) & Q(period_end__isnull=False)),
                name="quota_period_both_or_neither",
            ),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True)
                | (Q(year=ExtractYear("period_start")) & Q(year=ExtractYear("period_end"))),
                name="quota_period_inside_plan_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.target}"

    def clean(self) -> None:
        """The period must lie inside the plan year, with its start before its end."""
        from django.core.exceptions import ValidationError

        if self.plan_id:
            self.year = self.plan.year
        errors = {}
        if (self.period_start is None) != (self.period_end is None):
            errors["period_end"] = _("开始日期和截止日期须同时填写或同时留空。")
        elif self.period_start and self.period_start > self.period_end:
            errors["period_end"] = _("截止日期不能早于开始日期。")
        elif self.period_start and self.year and {self.period_start.year, self.period_end.year} != {self.year}:
            errors["period_start"] = _("时间须在计划年度 %(year)s 年内。") % {"year": self.year}
        if errors:
            raise ValidationError(errors)

    @property
    def is_group(self) -> bool:
        """Several units share this one number (use with prefetch_related("units"))."""
        return len(self.units.all()) > 1

    @property
    def due_date(self) -> dt.date:
        """The day it is due: the period's end, or the end of the plan year when none is set."""
        return self.period_end or dt.date(self.year, 12, 31)


class PlanDraft(models.Model):
    """Next year's allocation being drafted (任务分解): a total, rules per unit category and the
    hospitals' demand by month, from which every line gets its number and its period.

    Published, it becomes the jurisdiction's plan for the year through the notice import of its
    own attachment (quotas.drafting.publishing.draft_publish). One draft per jurisdiction and year.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("草拟中")
        PUBLISHED = "published", _("已发布")

    class PeriodKind(models.TextChoices):
        MONTH = "month", _("按月")
        DEKAD = "dekad", _("按旬")

    jurisdiction = models.ForeignKey(
        Jurisdiction, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="plan_drafts"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(_("附件标题"), max_length=200, blank=True, default="")
    attachment_label = models.CharField(_("附件编号"), max_length=20, blank=True, default="附件1")
    total = models.PositiveIntegerField(
        _("计划总数"), null=True, blank=True, help_text=_("留空：总数为各单位按规则所得之和。")
    )
    fit_total = models.BooleanField(
        _("按总数调整"), default=True, help_text=_("参与调整的规则按同一比例放大或缩小，使合计恰好等于计划总数。")
    )
    minimum = models.PositiveIntegerField(_("每单位最低任务数"), default=0)
    # {category: {"kind": "rate"|"last_task"|"last_completed"|"fixed", "value": "0.15", "scalable": true}}
    rules = models.JSONField(_("分配规则"), default=dict, blank=True)
    period_kind = models.CharField(_("时间粒度"), max_length=10, choices=PeriodKind.choices, default=PeriodKind.MONTH)
    demand = models.JSONField(_("各月临床用血量"), default=list, blank=True)
    default_location = models.CharField(_("默认献血地点"), max_length=200, blank=True, default="")
    base_plan = models.ForeignKey(
        AnnualPlan,
        verbose_name=_("上年计划"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    figures_as_of = models.DateField(_("上年数据截至"), null=True, blank=True)
    plan = models.ForeignKey(
        AnnualPlan,
        verbose_name=_("发布为"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drafts",
    )
    # What the last computation gave: totals, issues, the curves (quotas.drafting.services).
    result = models.JSONField(_("计算结果"), default=dict, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    # The computed result is left out of the history: it follows from the rest.
    history = HistoricalRecords(
        verbose_name=_("计划草稿变更记录"), verbose_name_plural=_("计划草稿变更记录"), excluded_fields=["result"]
    )

    class Meta:
        verbose_name = _("计划草稿")
        verbose_name_plural = _("计划草稿（任务分解）")
        ordering = ["-year", "jurisdiction__path"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "year"], name="draft_one_per_jurisdiction_year"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="draft_year_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction} {self.year} {self.get_status_display()}"


class DraftLine(models.Model):
    """One line of a draft: a unit, a group of units sharing one number, or a sub-jurisdiction;
    its rule's number or the number staff set, and its period(s)."""

    class PeriodMode(models.TextChoices):
        AUTO = "auto", _("自动安排")
        FIXED = "fixed", _("固定时间")
        ANNUAL = "annual", _("全年")

    draft = models.ForeignKey(PlanDraft, verbose_name=_("计划草稿"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("顺序"), default=0)
    label = models.CharField(_("单位（印出的名称）"), max_length=500)
    units = models.ManyToManyField(Unit, verbose_name=_("单位"), related_name="draft_lines", blank=True)
    sub_jurisdiction = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("下级行政区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="draft_lines",
    )
    category = models.CharField(_("类别"), max_length=20)
    headcount = models.PositiveIntegerField(_("总人数"), null=True, blank=True)
    last_task = models.PositiveIntegerField(_("上年任务数"), null=True, blank=True)
    last_completed = models.PositiveIntegerField(_("上年完成数"), null=True, blank=True)
    override = models.PositiveIntegerField(_("指定任务数"), null=True, blank=True)
    excluded = models.BooleanField(_("本年不分配"), default=False)
    period_mode = models.CharField(_("时间安排"), max_length=10, choices=PeriodMode.choices, default=PeriodMode.AUTO)
    # Period indexes (months 0-11 or dekads 0-35): one for a fixed period, several for a split line.
    fixed_periods = models.JSONField(_("固定时间"), default=list, blank=True)
    # The split line's numbers, one per fixed period; empty: split evenly (largest remainder).
    split_amounts = models.JSONField(_("拆分数"), default=list, blank=True)
    location = models.CharField(_("献血地点"), max_length=200, blank=True, default="")
    note = models.CharField(_("备注"), max_length=200, blank=True, default="")
    # Computed by quotas.drafting.recompute.draft_recompute:
    rule = models.CharField(_("所用规则"), max_length=20, blank=True, default="")
    basis = models.CharField(_("规则所得（未取整）"), max_length=40, blank=True, default="")
    missing = models.CharField(_("缺少"), max_length=20, blank=True, default="")
    proposal = models.PositiveIntegerField(_("本年拟分配"), null=True, blank=True)
    parts = models.JSONField(_("安排"), default=list, blank=True)  # [[number, period index or null], …]

    class Meta:
        verbose_name = _("草稿任务")
        verbose_name_plural = _("草稿任务")
        ordering = ["draft", "position", "id"]

    def __str__(self) -> str:
        return f"{self.label} {self.proposal if self.proposal is not None else '—'}"
