"""Admin for donation drives and donations. ID numbers appear masked only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.crypto import decrypt
from core.xlsx import xlsx_response
from units.admin_filters import UnitFilter, autocomplete_filter_media
from units.admin_scope import ScopedAdmin
from units.audit import AuditedAdmin, ReadOnlyAdmin, register_histories

from .messages import translate
from .models import AccessEvent, Bulletin, Donation, DonationDrive
from .rosters.services import roster_export
from .selectors import donor_history, drives_with_figures
from .services import (
    donation_prepare,
    donation_save,
    donations_review,
    record_access,
    review_problem,
)


@admin.register(DonationDrive)
class DonationDriveAdmin(ScopedAdmin, admin.ModelAdmin):
    scope_to = "plan__jurisdiction"
    list_display = ["__str__", "plan", "start_date", "end_date", "place", "station", "expected", "logged"]

    def get_queryset(self, request):
        return drives_with_figures(super().get_queryset(request))

    @admin.display(description=_("应献人数"), ordering="expected")
    def expected(self, obj):
        return obj.expected

    @admin.display(description=_("已登记"), ordering="logged")
    def logged(self, obj):
        return obj.logged

    list_filter = ["plan__year", ("plan__jurisdiction", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "place", "station", "units__name"]
    autocomplete_fields = ["plan", "units"]
    date_hierarchy = "start_date"
    list_select_related = ["plan", "plan__jurisdiction"]


class DonationAddForm(forms.ModelForm):
    """Staff log a donation by hand: the ID number goes through the same service as liaisons'."""

    id_number = forms.CharField(label=_("身份证号"), max_length=18, min_length=18)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)

    class Meta:
        model = Donation
        fields = [
            "donor_name",
            "id_number",
            "phone",
            "unit",
            "donated_on",
            "kind",
            "volume_ml",
            "doses",
            "drive",
            "declared_history",
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        kind = data.get("kind")
        try:
            self.prepared, self.rule_result = donation_prepare(
                check_plan_year=False,
                unit=data["unit"],
                donor_name=data["donor_name"],
                id_number=data["id_number"],
                donated_on=data["donated_on"],
                kind=kind,
                amount=data.get("doses") if kind == Donation.Kind.PLATELETS else data.get("volume_ml"),
                drive=data.get("drive"),
                phone=data.get("phone", ""),
                declared_history=data.get("declared_history", False),
            )
        except ValidationError as exc:
            for messages in exc.message_dict.values():
                for message in messages:
                    self.add_error(None, translate(message))
        return data


class FlaggedFilter(admin.SimpleListFilter):
    title = _("规则提示")
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", _("有待复核的提示")), ("no", _("无提示"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(flags=[])
        if self.value() == "no":
            return queryset.filter(flags=[])
        return queryset


class ReviewForm(ActionForm):
    reason = forms.CharField(label=_("处理说明"), required=False)


class DonationReviewForm(forms.ModelForm):
    """The change page's form: only the status and the reason are editable; the rule that a
    rejection, and verifying a flagged donation, need a reason is the service's."""

    def clean(self):
        data = super().clean()
        status = data.get("status", self.instance.status)
        if "status" in self.changed_data and status != Donation.Status.LOGGED:
            problem = review_problem(donations=[self.instance], status=status, reason=data.get("flag_resolution", ""))
            if problem:
                self.add_error("flag_resolution", problem)
        return data


@admin.register(Donation)
class DonationAdmin(ScopedAdmin, AuditedAdmin):
    scope_to = "unit__jurisdiction"
    action_form = ReviewForm
    actions = ["verify", "reject", "export_roster"]
    # What a review decides on first (at 1366 px with the admin's menu open the last columns scroll
    # out of sight): who, which unit and day, the status and the rule flags; then the details.
    list_display = [
        "donor_name",
        "id_number_masked",
        "unit",
        "donated_on",
        "status",
        "flag_summary",
        "kind",
        "volume_ml",
        "doses",
        "sex",
        "declared_history",
        "logged_by",
    ]
    change_form_template = "admin/campaigns/donation/change_form.html"
    list_filter = [
        "status",
        FlaggedFilter,
        "kind",
        "donated_on",
        ("unit__jurisdiction", admin.RelatedOnlyFieldListFilter),
        UnitFilter,  # a searchable box over the user's units, not a link per unit
    ]
    search_fields = ["donor_name", "unit__name", "id_number_masked"]
    autocomplete_fields = ["unit", "drive"]
    date_hierarchy = "donated_on"
    list_select_related = ["unit", "logged_by"]
    readonly_fields = [
        "id_number_masked",
        "sex",
        "birth_date",
        "blood_units",
        "logged_by",
        "logged_at",
        "flags_in_words",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = [
        "donor_name",
        "id_number_masked",
        "sex",
        "birth_date",
        "unit",
        "donated_on",
        "kind",
        "volume_ml",
        "blood_units",
        "drive",
        "declared_history",
        "status",
        "flags_in_words",
        "flag_resolution",
        "logged_by",
        "logged_at",
        "reviewed_by",
        "reviewed_at",
    ]

    @property
    def media(self):
        return super().media + autocomplete_filter_media(Donation, "unit", self.admin_site)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DonationAddForm
            kwargs["fields"] = DonationAddForm.Meta.fields
        else:
            kwargs["form"] = DonationReviewForm
        return super().get_form(request, obj, change, **kwargs)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The record page shows the donor's history (masked) and the 核实 / 退回 buttons."""
        extra_context = extra_context or {}
        donation = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        if donation is not None:
            extra_context["donor_history"] = donor_history(donation, user=request.user)
            extra_context["may_review"] = self.has_change_permission(request, donation)
        return super().change_view(request, object_id, form_url, extra_context)

    def review_view(self, request, pk):
        """核实 / 退回 from the record page (POST: decision and reason); back to the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        donation = get_object_or_404(self.get_queryset(request), pk=pk)  # another office's: 404
        if not self.has_change_permission(request, donation):
            raise PermissionDenied
        decision = request.POST.get("decision")
        if decision not in (Donation.Status.VERIFIED, Donation.Status.REJECTED):
            self.message_user(request, _("请选择核实或退回。"), level=messages.ERROR)
            return redirect("admin:campaigns_donation_change", pk)
        reason = request.POST.get("reason", "")
        try:
            donations_review(donations=[donation], status=decision, reviewer=request.user, reason=reason)
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, message, level=messages.ERROR)
            return redirect("admin:campaigns_donation_change", pk)
        done = _("已核实：%(name)s") if decision == Donation.Status.VERIFIED else _("已退回：%(name)s")
        self.message_user(request, done % {"name": donation.donor_name})
        return redirect("admin:campaigns_donation_change", pk)

    def get_fields(self, request, obj=None):
        return DonationAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        # On a logged donation staff decide (status, with a reason that resolves its flags); what
        # was donated is the liaison's entry, corrected by the liaison or rejected and logged anew,
        # so every change of the facts passes the donor rules in the one service that applies them.
        if obj is None:
            return []
        return [f for f in self.fields if f not in self.REVIEW_FIELDS]

    REVIEW_FIELDS = ("status", "flag_resolution")

    def save_model(self, request, obj, form, change):
        if change:
            if set(form.changed_data) & set(self.REVIEW_FIELDS):
                donations_review(
                    donations=[obj],
                    status=form.cleaned_data["status"],
                    reviewer=request.user,
                    reason=form.cleaned_data.get("flag_resolution", ""),
                )
            return
        form.prepared.logged_by = request.user
        saved = donation_save(form.prepared)
        obj.pk = saved.pk

    @admin.display(description=_("规则提示"))
    def flag_summary(self, obj):
        return "；".join(translate(f["message"]) for f in obj.flags)

    @admin.display(description=_("规则提示"))
    def flags_in_words(self, obj):
        return "；".join(translate(f["message"]) for f in obj.flags) or "—"

    def _review(self, request, queryset, status):
        try:
            return donations_review(
                donations=queryset, status=status, reviewer=request.user, reason=request.POST.get("reason", "")
            )
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, message, level=messages.ERROR)
            return None

    @admin.action(description=_("核实所选记录（处理说明填在上方）"), permissions=["change"])
    def verify(self, request, queryset):
        count = self._review(request, queryset, Donation.Status.VERIFIED)
        if count is not None:
            self.message_user(request, _("已核实 %(n)d 条。") % {"n": count})

    @admin.action(description=_("退回所选记录（须填写处理说明，联络员会看到）"), permissions=["change"])
    def reject(self, request, queryset):
        count = self._review(request, queryset, Donation.Status.REJECTED)
        if count is not None:
            self.message_user(request, _("已退回 %(n)d 条。") % {"n": count})

    @admin.action(description=_("导出献血者名单（含完整身份证号，将记录）"), permissions=["change"])
    def export_roster(self, request, queryset):
        workbook = roster_export(donations=queryset.select_related("unit"), user=request.user)
        return xlsx_response(workbook, "roster.xlsx")

    def get_urls(self):
        return [
            path("<int:pk>/show-id/", self.admin_site.admin_view(self.show_id), name="campaigns_donation_show_id"),
            path("<int:pk>/review/", self.admin_site.admin_view(self.review_view), name="campaigns_donation_review"),
            *super().get_urls(),
        ]

    def show_id(self, request, pk):
        """Show one full ID number to staff, and record that they saw it."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        donation = get_object_or_404(self.get_queryset(request), pk=pk)  # another office's: 404
        if request.method != "POST":
            return redirect("admin:campaigns_donation_change", pk)
        number = decrypt(donation.id_number_encrypted)
        record_access(
            user=request.user, action=AccessEvent.Action.SHOW_ID, donation=donation, detail=donation.id_number_masked
        )
        self.message_user(request, _("完整身份证号：%(n)s（此次查看已记录）") % {"n": number}, level=messages.WARNING)
        return redirect("admin:campaigns_donation_change", pk)


@admin.register(AccessEvent)
class AccessEventAdmin(ScopedAdmin, ReadOnlyAdmin):
    scope_to = "donation__unit__jurisdiction"  # an event without a donation: superusers only
    list_display = ["at", "user", "action", "donation", "detail"]
    list_filter = ["action", "at"]
    search_fields = ["user__username", "detail"]
    list_select_related = ["user", "donation"]


@admin.register(Bulletin)
class BulletinAdmin(ScopedAdmin, admin.ModelAdmin):
    """Bulletins are made from the dashboard; here staff find, open or delete a mistaken one."""

    list_display = ["title", "jurisdiction", "year", "as_of", "created_by", "open_link"]
    list_filter = ["year", ("jurisdiction", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "note"]
    date_hierarchy = "as_of"
    readonly_fields = ["jurisdiction", "year", "title", "as_of", "created_by", "created_at", "note", "open_link"]
    exclude = ["figures"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("打开"))
    def open_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("campaigns:bulletin", args=[obj.pk]), _("查看通报"))


register_histories(Donation)
