"""Liaison forms: log a donor, upload a roster."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quotas.forms import check_upload_size

from .models import Donation

AMOUNT_CHOICES = [
    ("whole:400", _("全血 400 毫升")),
    ("whole:300", _("全血 300 毫升")),
    ("whole:200", _("全血 200 毫升")),
    ("platelets:1", _("单采血小板 1 个治疗量")),
    ("platelets:2", _("单采血小板 2 个治疗量")),
]


class FetchedChoiceField(forms.ModelChoiceField):
    """A model choice among rows the view has already fetched (`fetched`): the submitted id is
    looked up among them instead of being queried again. Logging a donor is the portal's busiest
    request; the liaison's units are read once for the form and once more would be waste."""

    fetched: list | None = None

    def to_python(self, value):
        if self.fetched is None:
            return super().to_python(value)
        if value in self.empty_values:
            return None
        for obj in self.fetched:
            if str(obj.pk) == str(value):
                return obj
        raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")


class DonationForm(forms.Form):
    """One donor. Sex and birth date come from the ID number; the unit only when there are several."""

    unit = FetchedChoiceField(queryset=None, label=_("单位"), empty_label=None)
    donor_name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(
        label=_("身份证号"), max_length=22, widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"})
    )
    phone = forms.CharField(
        label=_("手机号（可选）"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    donated_on = forms.DateField(label=_("献血日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    amount = forms.ChoiceField(label=_("献血类型和量"), choices=AMOUNT_CHOICES)
    drive = forms.ModelChoiceField(queryset=None, label=_("献血活动（可选）"), required=False)

    def __init__(self, *args, units, drives, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].fetched = list(units)  # the only query of the units on a POST
        self.fields["drive"].queryset = drives
        self.fields["donated_on"].initial = timezone.localdate()
        if len(units) == 1:
            self.fields["unit"].initial = units[0].pk
            self.fields["unit"].widget = forms.HiddenInput()

    def service_fields(self) -> dict:
        data = self.cleaned_data
        kind, amount = data["amount"].split(":")
        return {
            "unit": data["unit"],
            "donor_name": data["donor_name"],
            "id_number": data["id_number"],
            "phone": data["phone"],
            "donated_on": data["donated_on"],
            "kind": kind,
            "amount": int(amount),
            "drive": data.get("drive"),
        }

    @staticmethod
    def initial_for(donation: Donation) -> dict:
        amount = f"{donation.kind}:{donation.doses if donation.kind == 'platelets' else donation.volume_ml}"
        return {
            "unit": donation.unit_id,
            "donor_name": donation.donor_name,
            "donated_on": donation.donated_on,
            "amount": amount,
            "drive": donation.drive_id,
        }


class RosterUploadForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=None, label=_("单位（名单中“单位”列为空时）"), empty_label=None)
    file = forms.FileField(label=_("献血者名单"), help_text=_("Excel、CSV 或 Word 表格；可先下载模板。"))

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        if len(units) == 1:
            self.fields["unit"].initial = units[0].pk
            self.fields["unit"].widget = forms.HiddenInput()

    def clean_file(self):
        return check_upload_size(self.cleaned_data["file"])
