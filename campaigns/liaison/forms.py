"""Liaison forms: log a donor, upload a roster."""

from __future__ import annotations

import contextlib

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import crypto
from quotas.forms import check_upload_size

from ..models import Donation

AMOUNT_CHOICES = [
    ("whole:400", _("全血 400 毫升")),
    ("whole:300", _("全血 300 毫升")),
    ("whole:200", _("全血 200 毫升")),
    ("platelets:1", _("单采血小板 1 个治疗量")),
    ("platelets:2", _("单采血小板 2 个治疗量")),
]


class ObjectChoiceField(forms.ChoiceField):
    """A choice among model objects the view fetched itself: a list, or a callable that fetches
    one when first needed — to render the choices, or to check a submitted value.

    Logging a donor is the portal's busiest request. A `ModelChoiceField` builds and copies a
    queryset per form and queries again to check the submitted id; here the liaison's units are
    read once, and the drives not at all when the donor came to no drive (the usual POST).
    """

    def __init__(self, *, empty_label="---------", **kwargs):
        super().__init__(**kwargs)
        self.empty_label = empty_label
        self._source = ()
        self._objects: list | None = None

    def set_objects(self, objects) -> None:
        """A list of objects, or a callable returning them (called at most once)."""
        self._source, self._objects = objects, None
        self.choices = self._object_choices  # a callable: Django calls it only when the choices are read

    @property
    def objects(self) -> list:
        if self._objects is None:
            self._objects = list(self._source() if callable(self._source) else self._source)
        return self._objects

    def _object_choices(self) -> list[tuple]:
        blank = [] if self.required or self.empty_label is None else [("", self.empty_label)]
        return blank + [(obj.pk, str(obj)) for obj in self.objects]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        for obj in self.objects:
            if str(obj.pk) == str(value):
                return obj
        raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value})

    def validate(self, value):
        forms.Field.validate(self, value)  # to_python already checked the value is one of the objects

    def prepare_value(self, value):
        return value.pk if hasattr(value, "pk") else value


class DonationForm(forms.Form):
    """One donor. Sex and birth date come from the ID number; the unit only when there are several."""

    unit = ObjectChoiceField(label=_("单位"), empty_label=None)
    donor_name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(
        label=_("身份证号"), max_length=22, widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"})
    )
    phone = forms.CharField(
        label=_("手机号（可选）"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    donated_on = forms.DateField(label=_("献血日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    amount = forms.ChoiceField(label=_("献血类型和量"), choices=AMOUNT_CHOICES)
    drive = ObjectChoiceField(label=_("献血活动（可选）"), required=False)
    declared_history = forms.BooleanField(
        label=_("曾献血（本系统外）"),
        required=False,
        help_text=_("此人以前献过血但不在本系统中（55–60 周岁的既往献血者须勾选）。"),
    )

    def __init__(self, *args, units: list, drives, editing: Donation | None = None, **kwargs):
        """`units`: the liaison's units, fetched; `drives`: a callable returning their drives;
        `editing`: the donation being changed — its ID number is kept unless a new one is typed."""
        super().__init__(*args, **kwargs)
        if editing is not None:
            field = self.fields["id_number"]
            field.required = False
            field.label = _("身份证号（不改请留空）")
            field.help_text = _("现为 %(masked)s；留空则保留原号码，只有改号码时才需输入完整的 18 位。") % {
                "masked": editing.id_number_masked
            }
        self.fields["unit"].set_objects(units)
        self.fields["drive"].set_objects(drives)
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
            "declared_history": data.get("declared_history", False),
        }

    @staticmethod
    def initial_for(donation: Donation) -> dict:
        """Every stored field but the ID number (kept unless retyped), the phone decrypted."""
        amount = f"{donation.kind}:{donation.doses if donation.kind == 'platelets' else donation.volume_ml}"
        return {
            "unit": donation.unit_id,
            "donor_name": donation.donor_name,
            "phone": crypto.decrypt(donation.phone_encrypted) if donation.phone_encrypted else "",
            "donated_on": donation.donated_on,
            "amount": amount,
            "drive": donation.drive_id,
            "declared_history": donation.declared_history,
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


class DonorSearchForm(forms.Form):
    """The liaison's donor list: a name, part of the masked ID (or the full number), dates, status."""

    q = forms.CharField(
        label=_("姓名或身份证号"),
        required=False,
        max_length=22,
        help_text=_("可输入姓名、身份证号后四位或完整号码。"),
    )
    date_from = forms.DateField(
        label=_("献血日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("到"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部"))] + Donation.Status.choices)

    def filter(self, donations):
        """`donations` narrowed by what was asked; the full ID is matched through its keyed hash."""
        from django.db.models import Q

        from ..donors.identity import IdNumberError, check_id_number

        data = self.cleaned_data
        if text := data.get("q", "").strip():
            match = Q(donor_name__icontains=text) | Q(id_number_masked__contains=text.upper())
            with contextlib.suppress(IdNumberError):
                match |= Q(id_number_hash=crypto.lookup_hash(check_id_number(text).number))
            donations = donations.filter(match)
        if data.get("date_from"):
            donations = donations.filter(donated_on__gte=data["date_from"])
        if data.get("date_to"):
            donations = donations.filter(donated_on__lte=data["date_to"])
        if data.get("status"):
            donations = donations.filter(status=data["status"])
        return donations
