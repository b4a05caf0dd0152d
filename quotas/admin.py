"""Admin for annual plans and quotas: the blood office's main work surface."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export.admin import ImportExportModelAdmin

from units.admin_scope import ScopedAdmin
from units.audit import AuditedAdmin, register_histories

from .formats import IMPORT_FORMATS
from .forms import LimitedImportForm
from .models import AnnualPlan, PlanSource, Quota
from .resources import QuotaResource
from .selectors import plan_summary
from .services import (
    ERROR_PLAN_LOCKED,
    plan_copy_to_year,
    plan_delete,
    plan_is_locked,
    plan_reopen,
    plan_set_status,
)
from .views import import_notice_view, import_status_view


class MonthFilter(admin.SimpleListFilter):
    """Quotas due in a month: the month of the period's end."""

    title = _("截止月份")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        return [(str(m), f"{m}月") for m in range(1, 13)] + [("none", _("未定时间"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(period_end__isnull=True)
        if self.value() in {str(m) for m in range(1, 13)}:
            return queryset.filter(period_end__month=int(self.value()))
        return queryset  # a value no link offers (typed into the address bar) filters nothing


class PlanFilter(admin.SimpleListFilter):
    """The quotas of one plan: the plan page links here instead of an inline of every quota."""

    title = _("年度计划")
    parameter_name = "plan"

    def lookups(self, request, model_admin):
        # The plans of the quotas this user may see (one query; the admin's scoping applies).
        in_view = model_admin.get_queryset(request).values("plan_id")
        plans = AnnualPlan.objects.filter(pk__in=in_view).select_related("jurisdiction")
        return [(str(plan.pk), str(plan)) for plan in plans.order_by("-year", "jurisdiction__path")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(plan_id=int(self.value()))
        return queryset


class QuotaChangeList(ChangeList):
    """The quota list with each page's units in one query (not one per row)."""

    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).prefetch_related("units")


class PlanSourceInline(admin.TabularInline):
    model = PlanSource
    fields = ["original_name", "file", "uploaded_by", "uploaded_at", "sha256"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AnnualPlan)
class AnnualPlanAdmin(ScopedAdmin, AuditedAdmin):
    list_display = [
        "__str__",
        "document_number",
        "status",
        "quota_count",
        "target_total",
        "declared_total",
        "issue_date",
    ]
    list_filter = ["year", "status", ("jurisdiction", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["jurisdiction__name", "document_number", "title", "quotas__label"]
    autocomplete_fields = ["jurisdiction"]
    list_select_related = ["jurisdiction"]
    # A plan's quotas are edited in their own paged list (QuotaAdmin filtered by the plan), not
    # inline: an inline posts ~15 fields per quota and a real plan exceeds DATA_UPLOAD_MAX_NUMBER_FIELDS.
    inlines = [PlanSourceInline]
    actions = ["publish", "close", "reopen", "copy_to_next_year"]
    change_list_template = "admin/quotas/annualplan/change_list.html"
    change_form_template = "admin/quotas/annualplan/change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(partial(import_notice_view, model_admin=self)), name="quotas_annualplan_import"),
            path(
                "import/status/<uuid:token>/",
                wrap(partial(import_status_view, model_admin=self)),
                name="quotas_annualplan_import_status",
            ),
            path(
                "<int:plan_id>/import/",
                wrap(partial(import_notice_view, model_admin=self)),
                name="quotas_annualplan_import_into",
            ),
            path("<path:object_id>/reopen/", wrap(self.reopen_view), name="quotas_annualplan_reopen"),
            *super().get_urls(),
        ]

    fieldsets = [
        (None, {"fields": ["jurisdiction", "year", "status"]}),
        (_("通知"), {"fields": ["document_number", "title", "issuing_office", "issue_date"]}),
        (_("总数"), {"fields": ["declared_total", "total_measure", "notes"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _quota_count=Count("quotas", distinct=True),
                _target_total=Sum("quotas__target", filter=Q(quotas__advisory=False)),
            )
        )

    @admin.display(description=_("任务条数"), ordering="_quota_count")
    def quota_count(self, obj):
        return obj._quota_count

    @admin.display(description=_("任务合计"), ordering="_target_total")
    def target_total(self, obj):
        return obj._target_total or 0

    # A closed plan (已结束) is locked: its form, its quotas and its deletion are read only until
    # staff reopen it (quotas.services.plan_is_locked; reopening is an entry in its history).
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and plan_is_locked(obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and plan_is_locked(obj))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if str(object_id).isdigit():
            extra_context["plan_quotas"] = plan_summary(plan_id=int(object_id))
            plan = extra_context["plan_quotas"]
            if plan is not None and plan_is_locked(plan) and super().has_change_permission(request, plan):
                extra_context["may_reopen"] = True
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("发布所选计划"), permissions=["change"])
    def publish(self, request, queryset):
        locked = queryset.filter(status=AnnualPlan.Status.CLOSED).count()
        changed = plan_set_status(plans=queryset, status=AnnualPlan.Status.PUBLISHED, user=request.user)
        self.message_user(request, ngettext("已发布 %d 个计划。", "已发布 %d 个计划。", changed) % changed)
        if locked:
            self.message_user(
                request,
                _("%(n)d 个已结束的计划未改动：请用“重新开放所选计划”。") % {"n": locked},
                level=messages.WARNING,
            )

    @admin.action(description=_("重新开放所选计划（已结束 → 已发布）"), permissions=["change"])
    def reopen(self, request, queryset):
        """Asks first on a page listing the closed plans chosen; then reopens them, audited."""
        plans = list(queryset.filter(status=AnnualPlan.Status.CLOSED).select_related("jurisdiction"))
        if not plans:
            self.message_user(request, _("所选计划都没有结束，无需重新开放。"), level=messages.WARNING)
            return None
        if request.POST.get("post") == "yes":
            changed = plan_reopen(plans=plans, user=request.user)
            for plan in plans:
                self.log_change(request, plan, str(_("重新开放")))
            self.message_user(request, ngettext("已重新开放 %d 个计划。", "已重新开放 %d 个计划。", changed) % changed)
            return None
        return self._reopen_confirmation(request, plans, action=True)

    def reopen_view(self, request, object_id):
        """The 重新开放 button of a closed plan's page: a confirmation page, then the reopening."""
        plan = self.get_queryset(request).filter(pk=unquote(object_id)).select_related("jurisdiction").first()
        if plan is None:
            raise Http404
        if not super().has_change_permission(request, plan):
            raise PermissionDenied
        change_url = reverse("admin:quotas_annualplan_change", args=[plan.pk])
        if not plan_is_locked(plan):
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            plan_reopen(plans=[plan], user=request.user)
            self.log_change(request, plan, str(_("重新开放")))
            self.message_user(request, _("已重新开放 %(plan)s，任务可以修改。") % {"plan": plan})
            return HttpResponseRedirect(change_url)
        return self._reopen_confirmation(request, [plan], action=False)

    def _reopen_confirmation(self, request, plans, *, action: bool):
        context = {
            **self.admin_site.each_context(request),
            "title": _("重新开放计划"),
            "opts": self.model._meta,
            "plans": plans,
            "action": action,
        }
        return TemplateResponse(request, "admin/quotas/annualplan/reopen.html", context)

    @admin.action(description=_("结束所选计划"), permissions=["change"])
    def close(self, request, queryset):
        changed = plan_set_status(plans=queryset, status=AnnualPlan.Status.CLOSED, user=request.user)
        self.message_user(request, ngettext("已结束 %d 个计划。", "已结束 %d 个计划。", changed) % changed)

    @admin.action(description=_("复制为下一年度草稿"), permissions=["add"])
    def copy_to_next_year(self, request, queryset):
        for plan in queryset:
            if AnnualPlan.objects.filter(jurisdiction=plan.jurisdiction, year=plan.year + 1).exists():
                self.message_user(
                    request, _("%(plan)s：下一年度计划已存在，未复制。") % {"plan": plan}, level=messages.WARNING
                )
                continue
            copy = plan_copy_to_year(plan=plan, year=plan.year + 1)
            self.message_user(request, _("已创建 %(plan)s（草稿）。") % {"plan": copy})

    # Deleting: quotas in bulk with their history (plan_delete), and a confirmation page that
    # counts them instead of listing 20,000 links.
    def delete_model(self, request, obj):
        plan_delete(plan=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for plan in queryset:
            plan_delete(plan=plan, user=request.user)

    def get_deleted_objects(self, objs, request):
        plans = list(objs)
        quotas = Quota.objects.filter(plan__in=plans).count()
        summary = [str(plan) for plan in plans]
        summary.append(
            ngettext(
                "及其 %(n)s 条任务（删除记录保留在变更记录中）", "及其 %(n)s 条任务（删除记录保留在变更记录中）", quotas
            )
            % {"n": f"{quotas:,}"}
        )
        perms_needed = set() if self.has_delete_permission(request) else {str(AnnualPlan._meta.verbose_name)}
        counts = {str(AnnualPlan._meta.verbose_name_plural): len(plans), str(Quota._meta.verbose_name_plural): quotas}
        return summary, counts, perms_needed, []


@admin.register(Quota)
class QuotaAdmin(ScopedAdmin, AuditedAdmin, ImportExportModelAdmin):
    scope_to = "plan__jurisdiction"
    resource_classes = [QuotaResource]
    import_form_class = LimitedImportForm
    import_formats = IMPORT_FORMATS  # read in the bounded child process
    list_display = [
        "label",
        "unit_names",
        "plan",
        "target",
        "advisory",
        "period_text",
        "period_end",
        "location",
        "source_ref",
    ]
    list_filter = [
        PlanFilter,
        "plan__year",
        MonthFilter,
        "advisory",
        ("plan__jurisdiction", admin.RelatedOnlyFieldListFilter),
        "units__category",
    ]
    search_fields = ["label", "units__name", "units__aliases__name", "location"]
    autocomplete_fields = ["plan", "units", "sub_jurisdiction"]
    list_select_related = ["plan", "plan__jurisdiction", "sub_jurisdiction"]
    readonly_fields = ["source", "source_sheet", "source_cell"]
    list_per_page = 100
    show_full_result_count = False  # one COUNT less on every page of a large plan
    # Replaces django-import-export's buttons: no flat technical 导入 (staff import notices).
    import_export_change_list_template = "admin/quotas/quota/change_list.html"

    def get_changelist(self, request, **kwargs):
        return QuotaChangeList

    def get_list_display(self, request):
        """Within one plan (the plan page's link) the plan column says nothing: left out."""
        columns = super().get_list_display(request)
        if request.GET.get(PlanFilter.parameter_name, "").isdigit():
            columns = [c for c in columns if c != "plan"]
        return columns

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        plan_id = request.GET.get(PlanFilter.parameter_name, "")
        if plan_id.isdigit():
            extra_context["plan"] = plan_summary(plan_id=int(plan_id))
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("单位"))
    def unit_names(self, obj):
        if obj.sub_jurisdiction_id:
            return _("下级：%(name)s") % {"name": obj.sub_jurisdiction}
        names = [unit.name for unit in obj.units.all()]
        if names == [obj.label]:
            return "✓"  # the unit of the printed name itself
        return "、".join(names) or "—"

    # A closed plan's quotas are read only (quotas.services.plan_is_locked): no change, no
    # delete (delete_selected asks per quota), and a closed plan is not among a form's choices.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and plan_is_locked(obj.plan))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj is not None and plan_is_locked(obj.plan))

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        if db_field.name == "plan":
            queryset = (queryset if queryset is not None else AnnualPlan.objects.all()).exclude(
                status=AnnualPlan.Status.CLOSED
            )
        return queryset

    def change_view(self, request, object_id, form_url="", extra_context=None):
        quota = self.get_queryset(request).filter(pk=unquote(object_id)).select_related("plan").first()
        if quota is not None and plan_is_locked(quota.plan) and request.method == "GET":
            self.message_user(request, ERROR_PLAN_LOCKED.format(plan=quota.plan), level=messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        obj.year = obj.plan.year
        super().save_model(request, obj, form, change)

    @admin.display(description=_("来源"))
    def source_ref(self, obj):
        return f"{obj.source_sheet}!{obj.source_cell}" if obj.source_cell else ""


@admin.register(PlanSource)
class PlanSourceAdmin(ScopedAdmin, admin.ModelAdmin):
    scope_to = "plan__jurisdiction"
    list_display = ["original_name", "plan", "uploaded_by", "uploaded_at", "size"]
    list_filter = ["plan__year"]
    search_fields = ["original_name", "plan__jurisdiction__name"]
    readonly_fields = ["plan", "file", "original_name", "sha256", "size", "uploaded_by", "uploaded_at", "summary"]
    list_select_related = ["plan", "plan__jurisdiction", "uploaded_by"]

    def has_add_permission(self, request):
        return False


register_histories(AnnualPlan, Quota, related={AnnualPlan: ["jurisdiction"]})

# The drafts' admin (任务分解) lives with the drafting code.
from .drafting import admin as drafting_admin  # noqa: E402, F401
