"""The audit trail in the admin: each tracked model's history, listed and searchable.

The per-record history (the admin's "历史" button) comes from `SimpleHistoryAdmin`; these
read-only lists show every change of one kind across the system — who, when, what, and for
imports and bulk reviews the file or batch the change came from. Reading a history needs the
right to view the tracked records themselves: leadership, who may not see donors, cannot read
the donations' history either. Nothing here can be changed, deleted or reverted.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import ManyToManyField
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper


class PortalHistoryHelper(HistoricalRecordContextHelper):
    """A history page's changes in words: a choice as its label ("草稿 → 已发布", not
    "draft → published"), yes/no for booleans, "—" for nothing."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if isinstance(field, ManyToManyField):
            return super().prepare_delta_change_value(change, value)
        if field.choices:
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, bool):
            return _("是") if value else _("否")
        if value is None or value == "":
            return "—"
        return super().prepare_delta_change_value(change, value)


class AuditedAdmin(SimpleHistoryAdmin):
    """A ModelAdmin whose records keep a history, shown read-only.

    SimpleHistoryAdmin's page for one past version still saves a POSTed form even with
    SIMPLE_HISTORY_REVERT_DISABLED (only the button is hidden) and checks no more than the view
    permission: a reader could overwrite the record through it. Here that page only shows.
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_historical_record_context_helper(self, request, historical_record):
        return PortalHistoryHelper(self.model, historical_record)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: listed and opened, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HistoryTypeFilter(admin.SimpleListFilter):
    title = _("变更类型")
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [("+", _("新建")), ("~", _("修改")), ("-", _("删除"))]

    def queryset(self, request, queryset):
        return queryset.filter(history_type=self.value()) if self.value() else queryset


class HistoryListAdmin(ReadOnlyAdmin):
    """Read-only list of a historical model (`Model.history.model`).

    django-simple-history names its columns in English only; the list shows them in the
    portal's language.
    """

    list_display = ["when", "who", "kind", "record", "reason"]
    list_filter = [HistoryTypeFilter]
    search_fields = ["history_change_reason", "history_user__username"]
    date_hierarchy = "history_date"
    list_select_related = ["history_user"]
    list_per_page = 50
    record_related: tuple[str, ...] = ()  # foreign keys the tracked model's __str__ reads

    @admin.display(description=_("时间"), ordering="history_date")
    def when(self, obj):
        return obj.history_date

    @admin.display(description=_("修改人"), ordering="history_user__username")
    def who(self, obj):
        return obj.history_user or "—"

    @admin.display(description=_("类型"), ordering="history_type")
    def kind(self, obj):
        return {"+": _("新建"), "~": _("修改"), "-": _("删除")}.get(obj.history_type, obj.history_type)

    @admin.display(description=_("记录"))
    def record(self, obj):
        instance = obj.instance
        for name in self.record_related:  # fetched with the list, not once per row
            setattr(instance, name, getattr(obj, name))
        return str(instance)

    @admin.display(description=_("原因（文件或批次）"))
    def reason(self, obj):
        return obj.history_change_reason or "—"

    def _tracked_perm(self, request, action: str) -> bool:
        tracked = self.model.instance_type._meta
        return request.user.has_perm(f"{tracked.app_label}.{action}_{tracked.model_name}")

    def has_view_permission(self, request, obj=None):
        return self._tracked_perm(request, "view") or self._tracked_perm(request, "change")

    def has_module_permission(self, request):
        return self.has_view_permission(request)


def register_histories(*models, related: dict | None = None) -> None:
    """Register each model's history list; `related` names the foreign keys its __str__ reads.

    Each list is scoped as the tracked model's own admin is (registered before it): a past
    version is seen by whoever may see the record's jurisdiction now.
    """
    from .admin_scope import ScopedAdmin

    for model in models:
        names = tuple((related or {}).get(model, ()))
        options = {
            "record_related": names,
            "list_select_related": ["history_user", *names],
            "scope_to": admin.site._registry[model].scope_to,
        }
        bases = (ScopedAdmin, HistoryListAdmin)
        admin.site.register(model.history.model, type(f"{model.__name__}HistoryAdmin", bases, options))
