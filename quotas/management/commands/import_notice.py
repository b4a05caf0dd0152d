"""Read (and, without --dry-run, apply) a notice attachment from the command line.

    python manage.py import_notice FILE --jurisdiction NAME --year YEAR [--dry-run] [--json]

With --json it prints one JSON document in the schema of fixtures/notices/*.expected.json and
exits non-zero when the file has errors. Without --dry-run the file is applied in one
transaction, creating the jurisdiction and units as needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from quotas.services import plan_import, preview_import
from units.models import Jurisdiction
from units.services import jurisdiction_find, jurisdiction_get_or_create


class Command(BaseCommand):
    help = (
        "Read a notice attachment (.xlsx/.xls/.csv/.docx, or the notice's text PDF) and import its quotas into a plan."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--jurisdiction", required=True, help="e.g. 袁州区 or 宜春市袁州区")
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--notice-text", help="the notice's own text, for its 文号, title and date")
        parser.add_argument("--dry-run", action="store_true", help="read and compare only; write nothing")
        parser.add_argument("--json", action="store_true", help="print the reading as one JSON document")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        data = path.read_bytes()
        notice_text = Path(options["notice_text"]).read_text(encoding="utf-8") if options["notice_text"] else ""
        name, year = options["jurisdiction"], options["year"]
        jurisdiction = jurisdiction_find(name)
        if options["dry_run"]:
            report = preview_import(
                data=data, filename=path.name, jurisdiction=jurisdiction, year=year, notice_text=notice_text
            )
            if jurisdiction is None:
                report.reading.jurisdiction = name
        else:
            with transaction.atomic():
                if jurisdiction is None:
                    jurisdiction = jurisdiction_get_or_create(name=name, level=Jurisdiction.Level.COUNTY)
                report = plan_import(
                    data=data, filename=path.name, jurisdiction=jurisdiction, year=year, notice_text=notice_text
                )
        if options["json"]:
            document = report.as_json()
            document["plan"]["jurisdiction"] = jurisdiction.full_name if jurisdiction else name
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
        else:
            self._summary(report)
        if report.errors:
            raise CommandError(f"{len(report.errors)} 个错误，未导入。")

    def _summary(self, report):
        for issue in report.errors:
            self.stderr.write(f"错误 {issue.message}")
        for issue in report.warnings:
            self.stderr.write(f"提示 {issue.message}")
        counts = report.counts()
        self.stdout.write(
            f"{len(report.rows)} 行：新增 {counts.get('new', 0)}，修改 {counts.get('changed', 0)}，"
            f"不变 {counts.get('unchanged', 0)}，删除 {counts.get('removed', 0)}；"
            f"未匹配单位 {len(report.unknown)}；" + ("已导入。" if report.applied else "未写入（预览）。")
        )
