"""Admin for jurisdictions, units, aliases, liaisons and staff profiles (blood-office staff)."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult

from .admin_scope import ScopedAdmin, make_superuser_only
from .audit import AuditedAdmin, register_histories
from .merge import MergeRefused, merge_preview, units_merge
from .models import Jurisdiction, Liaison, StaffProfile, Unit, UnitAlias
from .scope import scope_for
from .services import alias_save, jurisdiction_save, unit_save


@admin.register(Jurisdiction)
class JurisdictionAdmin(ScopedAdmin, admin.ModelAdmin):
    scope_to = ""  # the jurisdiction itself
    list_display = ["name", "level", "parent", "code", "unit_count"]
    list_filter = ["level"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_unit_count=Count("units"))

    @admin.display(description=_("单位数"), ordering="_unit_count")
    def unit_count(self, obj):
        return obj._unit_count

    def save_model(self, request, obj, form, change):
        jurisdiction_save(jurisdiction=obj)


class UnitAliasInline(admin.TabularInline):
    model = UnitAlias
    fields = ["name"]
    extra = 0


class SubordinateInline(admin.TabularInline):
    model = Unit
    fk_name = "parent"
    fields = ["name", "category", "headcount", "active"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = _("下属单位")
    verbose_name_plural = _("下属单位")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Unit)
class UnitAdmin(ScopedAdmin, AuditedAdmin):
    list_display = ["name", "category", "jurisdiction", "parent", "headcount", "contact_name", "active"]
    # Headcounts are what drafting's rate rules read (总人数 / 适龄员工数): typed in the list, or
    # imported from a sheet (计划草稿 → 导入单位总人数); either way each change is in the history.
    list_editable = ["headcount"]
    list_filter = ["category", "active", ("jurisdiction", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "normalized_name", "aliases__name", "aliases__normalized_name"]
    autocomplete_fields = ["jurisdiction", "parent"]
    list_select_related = ["jurisdiction", "parent"]
    inlines = [UnitAliasInline, SubordinateInline]
    list_per_page = 50
    actions = ["merge_units"]

    def save_model(self, request, obj, form, change):
        unit_save(unit=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is UnitAlias:
            for alias in formset.save(commit=False):
                alias.jurisdiction = form.instance.jurisdiction
                alias_save(alias=alias)
            for alias in formset.deleted_objects:
                alias.delete()
        else:
            formset.save()

    @admin.action(description=_("合并所选单位（同一单位的重复记录）"), permissions=["change", "delete"])
    def merge_units(self, request, queryset):
        """Pick the unit to keep among the selected (the queryset is the user's scope), confirm,
        then units.merge.units_merge moves everything to it in one transaction."""
        units = list(queryset.select_related("jurisdiction").order_by("jurisdiction__path", "name"))
        if len(units) < 2:
            self.message_user(request, _("请至少选择两个单位进行合并。"), level=messages.WARNING)
            return None
        if request.POST.get("post") == "yes" and request.POST.get("target", "").isdigit():
            by_id = {unit.pk: unit for unit in units}
            target = by_id.get(int(request.POST["target"]))
            if target is None:  # not among the selected ones this user may see
                raise PermissionDenied
            sources = [unit for unit in units if unit.pk != target.pk]
            try:
                with transaction.atomic():  # the admin's log entries go with the merge, or neither
                    self.log_deletions(request, queryset.exclude(pk=target.pk))
                    report = units_merge(
                        target=target, sources=sources, user=request.user, scope=scope_for(request.user)
                    )
                    self.log_change(request, report.target, report.reason)
            except MergeRefused as refused:
                for message in refused.messages:
                    self.message_user(request, _("未合并：%(why)s") % {"why": message}, level=messages.ERROR)
                return None
            moved = "、".join(f"{name} {n}" for name, n in report.moved.items()) or "—"
            if report.aliases_added:
                moved += "；" + str(_("新增别名：%(names)s") % {"names": "、".join(report.aliases_added)})
            self.message_user(
                request,
                _("已将 %(sources)s 并入 %(target)s（移动：%(moved)s）。")
                % {
                    "sources": "、".join(report.merged),
                    "target": report.target.name,
                    "moved": moved,
                },
            )
            return None
        for unit in units:
            unit.moves = list(merge_preview(target=unit, sources=[unit]).items())
        context = {
            **self.admin_site.each_context(request),
            "title": _("合并单位"),
            "opts": self.model._meta,
            "units": units,
        }
        return TemplateResponse(request, "admin/units/unit/merge.html", context)


@admin.register(UnitAlias)
class UnitAliasAdmin(ScopedAdmin, AuditedAdmin):
    list_display = ["name", "unit", "jurisdiction", "created_at"]
    search_fields = ["name", "normalized_name", "unit__name"]
    list_filter = [("jurisdiction", admin.RelatedOnlyFieldListFilter)]
    autocomplete_fields = ["unit"]
    fields = ["unit", "name"]
    list_select_related = ["unit", "jurisdiction"]

    def save_model(self, request, obj, form, change):
        alias_save(alias=obj)


@admin.register(Liaison)
class LiaisonAdmin(ScopedAdmin, admin.ModelAdmin):
    scope_to, scope_many = "units__jurisdiction", True  # seen through any unit, changed only if all are in scope
    list_display = ["__str__", "user", "phone", "unit_names"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "phone", "units__name"]
    autocomplete_fields = ["user", "units"]
    list_select_related = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("units")

    @admin.display(description=_("负责单位"))
    def unit_names(self, obj):
        return "、".join(u.name for u in obj.units.all())


@admin.register(StaffProfile)
class StaffProfileAdmin(ScopedAdmin, admin.ModelAdmin):
    list_display = ["user", "jurisdiction"]
    search_fields = ["user__username", "jurisdiction__name"]
    autocomplete_fields = ["user", "jurisdiction"]
    list_select_related = ["user", "jurisdiction"]


register_histories(Unit, UnitAlias)

# Accounts, groups, lockouts and background tasks span every office: superusers only, whatever
# a group grants (a scoped account list would still let a staff member hand out permissions; a
# task's arguments name another office's upload). The admins of django.contrib.auth,
# django-axes and django-tasks-db are registered before this module is imported.
make_superuser_only(admin.site, User, Group, AccessAttempt, AccessLog, AccessFailureLog, DBTaskResult)
