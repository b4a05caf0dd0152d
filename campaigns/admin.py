"""Admin for donation drives and donations. ID numbers appear masked only."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .crypto import lookup_hash
from .identity import IdNumberError, check_id_number
from .models import Donation, DonationDrive
from .services import ERROR_DUPLICATE, ERROR_FUTURE, donation_log


@admin.register(DonationDrive)
class DonationDriveAdmin(admin.ModelAdmin):
    list_display = ["__str__", "plan", "start_date", "end_date", "place", "station"]
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
        fields = ["donor_name", "id_number", "phone", "unit", "donated_on", "kind", "volume_ml", "drive"]

    def clean_id_number(self):
        try:
            return check_id_number(self.cleaned_data["id_number"]).number
        except IdNumberError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self):
        data = super().clean()
        if data.get("id_number") and data.get("donated_on"):
            taken = Donation.objects.counted().filter(
                id_number_hash=lookup_hash(data["id_number"]), donated_on=data["donated_on"]
            )
            if taken.exists():
                self.add_error("id_number", ERROR_DUPLICATE)
            if data["donated_on"] > timezone.localdate():
                self.add_error("donated_on", ERROR_FUTURE)
        return data


@admin.register(Donation)
class DonationAdmin(admin.ModelAdmin):
    list_display = [
        "donor_name",
        "id_number_masked",
        "sex",
        "unit",
        "donated_on",
        "kind",
        "volume_ml",
        "status",
        "logged_by",
    ]
    list_filter = ["status", "kind", "donated_on", ("unit__jurisdiction", admin.RelatedOnlyFieldListFilter)]
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
        "flags",
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
        "status",
        "flags",
        "flag_resolution",
        "logged_by",
        "logged_at",
        "reviewed_by",
        "reviewed_at",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DonationAddForm
            kwargs["fields"] = DonationAddForm.Meta.fields
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return DonationAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            if "status" in form.changed_data:
                obj.reviewed_by, obj.reviewed_at = request.user, timezone.now()
            obj.save()
            return
        data = form.cleaned_data
        saved = donation_log(
            unit=data["unit"],
            donor_name=data["donor_name"],
            id_number=data["id_number"],
            donated_on=data["donated_on"],
            kind=data["kind"],
            volume_ml=data["volume_ml"],
            drive=data.get("drive"),
            phone=data.get("phone", ""),
            logged_by=request.user,
        )
        obj.pk = saved.pk
