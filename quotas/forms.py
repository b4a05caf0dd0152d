"""Forms of the notice import in the admin: the upload, then the staff member's decisions."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from import_export.forms import ImportForm

from units.models import Jurisdiction
from units.naming import clean_name
from units.selectors import child_level
from units.services import jurisdiction_named

ALLOWED_SUFFIXES = {".xlsx", ".xls", ".et", ".csv", ".docx", ".doc", ".wps", ".pdf", ".txt", ".jpg", ".jpeg", ".png"}
ERROR_TOO_LARGE = _("文件过大（%(size)s MB），上限为 %(limit)s MB。")
ERROR_SUFFIX = _("只能上传 .xlsx、.xls、.et、.csv、.docx、.doc、.wps、.pdf 文件或扫描件、照片（.jpg、.png）。")


ERROR_NEW_JURISDICTION_LEVEL = _("乡镇/街道/园区之下不能再新建行政区划。")


class NoticeUploadForm(forms.Form):
    jurisdiction = forms.ModelChoiceField(
        Jurisdiction.objects.all(), label=_("行政区划"), help_text=_("输入名称搜索。")
    )
    new_jurisdiction = forms.CharField(
        label=_("或在其下新建"),
        max_length=100,
        required=False,
        help_text=_("新设的办公室：填写名称（如 慈利县），将在上面所选行政区划之下新建它，并导入到它的计划。"),
    )
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    file = forms.FileField(
        label=_("通知附件"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(sorted(ALLOWED_SUFFIXES))}),
        help_text=_(
            "原样上传收到的文件，无需整理：Excel（.xlsx/.xls）、WPS 表格（.et）、CSV、Word（.docx/.doc）、"
            "WPS 文字（.wps）或文字版 PDF（整份通知的 PDF 也可以）。扫描件和照片无法读取。"
        ),
    )
    notice_text = forms.FileField(
        label=_("通知正文（可选）"), required=False, help_text=_("纯文本，用于读取文号、标题和发文日期。")
    )

    def __init__(self, *args, plan=None, jurisdictions=None, admin_site=None, **kwargs):
        """`jurisdictions`: those the user may import into (`units.scope`); a posted id outside
        them is "not one of the available choices", and a new jurisdiction goes under one of them."""
        super().__init__(*args, **kwargs)
        field = self.fields["jurisdiction"]
        if admin_site is not None:  # a search box (the admin's autocomplete, scoped) instead of a flat list
            from django.contrib.admin.widgets import AutocompleteSelect

            from .models import AnnualPlan

            field.widget = AutocompleteSelect(AnnualPlan._meta.get_field("jurisdiction"), admin_site)
        if jurisdictions is not None:
            field.queryset = jurisdictions
        if plan is not None:
            field.initial = plan.jurisdiction_id
            self.fields["year"].initial = plan.year
            field.disabled = True
            self.fields["year"].disabled = True
            del self.fields["new_jurisdiction"]

    def clean(self):
        """With a new jurisdiction's name, the jurisdiction imported for is that child of the chosen
        one: found if it exists, else unsaved until the import is confirmed."""
        data = super().clean()
        parent, name = data.get("jurisdiction"), clean_name(data.get("new_jurisdiction") or "")
        if parent is not None and name:
            if parent.level >= Jurisdiction.Level.TOWN:
                self.add_error("new_jurisdiction", ERROR_NEW_JURISDICTION_LEVEL)
                return data
            data["parent"] = parent
            data["jurisdiction"] = jurisdiction_named(name, parent=parent) or Jurisdiction(
                name=name, parent=parent, level=child_level(parent, name), path=""
            )
        return data

    def clean_file(self):
        upload = check_upload_size(self.cleaned_data["file"])
        if Path(upload.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(ERROR_SUFFIX)
        return upload

    def clean_notice_text(self):
        upload = self.cleaned_data.get("notice_text")
        if upload and upload.size > 2 * 2**20:
            raise forms.ValidationError(ERROR_TOO_LARGE, params={"size": round(upload.size / 2**20, 1), "limit": 2})
        return upload


def check_upload_size(upload):
    """The import-export library sets no limit of its own: every upload form calls this."""
    limit = settings.NOTICE_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise forms.ValidationError(
            ERROR_TOO_LARGE, params={"size": round(upload.size / 2**20, 1), "limit": limit // 2**20}
        )
    return upload


class LimitedImportForm(ImportForm):
    """django-import-export's import form with the portal's upload size limit."""

    def clean_import_file(self):
        upload = check_upload_size(self.cleaned_data["import_file"])
        check_readable(upload)
        return upload


ERROR_NO_DATA = _("文件中没有数据行。")


def check_readable(upload) -> None:
    """Run the portal's guards on an upload before django-import-export (tablib) opens it.

    tablib reads whole workbooks with openpyxl's full loader and has no guards of its own: a zip
    bomb or a million empty rows would be read in full. The notice reader's grid module refuses
    hostile files with a message staff understand, in a bounded child process like every upload;
    a file with no data rows is refused too.
    """
    from core.sandbox import SandboxError, run_bounded

    from .notice.grid import table_check

    data = upload.read()
    upload.seek(0)
    try:
        message, rows = run_bounded(table_check, data, upload.name, formats=("xlsx", "xls", "csv"))
    except SandboxError as exc:
        raise forms.ValidationError(str(exc)) from None
    if message:
        raise forms.ValidationError(message)
    if rows <= 1:
        raise forms.ValidationError(ERROR_NO_DATA)
