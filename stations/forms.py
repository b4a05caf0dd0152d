"""The station export upload form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from quotas.forms import check_upload_size


class StationUploadForm(forms.Form):
    file = forms.FileField(label=_("血站采血记录导出文件"), help_text=_("Excel（.xlsx/.xls）或 CSV（GBK/UTF-8）。"))
    first_day = forms.DateField(
        label=_("覆盖起始日"),
        required=False,
        help_text=_("空：文件中最早的献血日期。"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    last_day = forms.DateField(
        label=_("覆盖截止日"),
        required=False,
        help_text=_("空：文件中最晚的献血日期。"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_file(self):
        return check_upload_size(self.cleaned_data["file"])

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and first > last:
            raise ValidationError(_("覆盖起始日应不晚于截止日。"))
        return data
