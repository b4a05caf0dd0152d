"""Drafts in the admin: the list (limited to the user's jurisdiction), and the drafting pages
(`views`) behind the admin's own URLs, so they look and sit like the rest of staff's work."""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _

from units.admin_scope import ScopedAdmin
from units.audit import AuditedAdmin

from ..models import PlanDraft
from . import views
from .selectors import allocations_waiting, drafting_scope, drafts_for


@admin.register(PlanDraft)
class PlanDraftAdmin(ScopedAdmin, AuditedAdmin):
    list_display = ["jurisdiction", "year", "status", "total", "drafted", "largest_gap", "plan", "updated_at"]
    list_display_links = ["jurisdiction", "year"]
    list_filter = ["year", "status"]
    search_fields = ["jurisdiction__name"]
    list_select_related = ["jurisdiction", "plan"]
    change_list_template = "admin/quotas/plandraft/change_list.html"

    def get_queryset(self, request):
        return drafts_for(drafting_scope(request.user))

    def get_urls(self):
        wrap = self.admin_site.admin_view

        def view(function, name: str, route: str):
            return path(route, wrap(partial(function, model_admin=self)), name=f"quotas_plandraft_{name}")

        return [
            view(views.headcounts_view, "headcounts", "headcounts/"),
            view(views.line_view, "line", "<path:object_id>/lines/<int:line_id>/"),
            view(views.export_view, "export", "<path:object_id>/attachment.<str:fmt>"),
            view(views.publish_view, "publish", "<path:object_id>/publish/"),
            view(views.reopen_view, "reopen", "<path:object_id>/reopen/"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return views.create_view(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.workbench_view(request, object_id, model_admin=self)

    def changelist_view(self, request, extra_context=None):
        waiting = allocations_waiting(drafting_scope(request.user))
        return super().changelist_view(request, {**(extra_context or {}), "waiting": waiting})

    @admin.display(description=_("已分配"))
    def drafted(self, obj):
        return (obj.result or {}).get("total", "—")

    @admin.display(description=_("最大月度偏差"))
    def largest_gap(self, obj):
        gap = (obj.result or {}).get("largest_gap")
        return "—" if gap is None else f"{gap:.1f}"
