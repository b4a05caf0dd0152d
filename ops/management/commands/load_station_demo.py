"""Import a station export for the demo's current-year plan (run after `load_demo`).

The export is `fixtures/station/yizheng-station-demo.csv` (GBK CSV as the station's system
writes it; dates without a year, so they fall in the current year): people who donated at the
fixed site and whom no liaison reported — by exact unit name, by an alias (仪征化纤 → 仪化公司,
created here as staff would), and workplaces that match no unit. `load_demo`'s donations have
random ID numbers and dates relative to today, so the rows that match them are added when the
command runs: the current year's donations of 仪征市 up to the end of last month, leaving every
tenth one out (未见采血记录) and giving every fifteenth another volume (献血量不一致).
It goes through the same preview and apply as the staff page. Safe to run twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from campaigns.models import Donation
from core import crypto
from stations.models import StationExport
from stations.preview import station_preview
from stations.services import rematch, station_apply
from units.models import Jurisdiction, Unit
from units.services import alias_create

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "station" / "yizheng-station-demo.csv"
JURISDICTION = "仪征市"
ALIAS = ("仪化公司", "仪征化纤")
OTHER_AMOUNT = {("whole", 400): 200, ("whole", 300): 400, ("whole", 200): 400, ("platelets", 1): 2, ("platelets", 2): 1}


class Command(BaseCommand):
    help = "Import the demo station export for 仪征市 (after load_demo); idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="as of this day (YYYY-MM-DD)")
        parser.add_argument("--write", type=Path, default=None, help="also save the export as this .csv file")

    def handle(self, *args, **options):
        today = options["today"] or timezone.localdate()
        jurisdiction = Jurisdiction.objects.filter(name=JURISDICTION).first()
        office = get_user_model().objects.filter(username="office").first()
        if jurisdiction is None or office is None:
            raise CommandError("先运行 load_demo。")
        first_day = dt.date(today.year, 1, 1)
        last_day = max(first_day, today.replace(day=1) - dt.timedelta(days=1))
        name = f"{FIXTURE.stem}-{today.year}.csv"
        if StationExport.objects.filter(jurisdiction=jurisdiction, filename=name).exists():
            self.stdout.write("血站演示数据已导入。")
            return
        unit = Unit.objects.filter(jurisdiction=jurisdiction, name=ALIAS[0]).first()
        text = FIXTURE.read_bytes().decode("gbk")
        rows = [
            line for line in text.splitlines()[1:] if line and self._day(line.split(",")[4], today.year) <= last_day
        ]
        donations = Donation.objects.filter(
            unit__jurisdiction=jurisdiction, donated_on__range=(first_day, last_day)
        ).exclude(status=Donation.Status.REJECTED)
        for i, d in enumerate(donations.order_by("donated_on", "pk")):
            if i % 10 == 3:
                continue  # the station has no record of it: 未见采血记录
            amount = d.doses if d.kind == Donation.Kind.PLATELETS else d.volume_ml
            if i % 15 == 7:
                amount = OTHER_AMOUNT[(d.kind, amount)]
            kind = "机采血小板" if d.kind == Donation.Kind.PLATELETS else "全血"
            sex = "男" if d.sex == "M" else "女"
            rows.append(
                f"DM{d.pk:07d},{d.donor_name},{sex},{crypto.decrypt(d.id_number_encrypted)},"
                f"{d.donated_on.isoformat()},{kind},{amount},流动采血车,{d.unit.name}"
            )
        data = ("\n".join([text.splitlines()[0], *rows]) + "\n").encode("gbk")
        if options["write"]:
            options["write"].write_bytes(data)
        with transaction.atomic():
            if unit is not None:
                alias_create(unit=unit, name=ALIAS[1])
            preview = station_preview(data=data, filename=name, jurisdiction=jurisdiction, today=today)
            if not preview.ok:
                raise CommandError(f"{preview.errors} {[(c.row.ref, c.errors) for c in preview.error_rows[:5]]}")
            export = station_apply(
                preview=preview,
                jurisdiction=jurisdiction,
                user=office,
                filename=name,
                sha256=hashlib.sha256(data).hexdigest(),
                first_day=first_day,
                last_day=last_day,
            )
            rematch(jurisdiction=jurisdiction)
        counts = preview.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"血站采血记录 {first_day}–{last_day}：新增 {export.new_records} 条（匹配 {counts['matched']}，"
                f"献血量不一致 {counts['volume']}，按名称归属 {counts['name']}，按别名归属 {counts['alias']}，"
                f"未归属 {counts['unattributed']}）。"
            )
        )

    @staticmethod
    def _day(text: str, year: int) -> dt.date:
        month, day = text.rstrip("日").split("月")
        return dt.date(year, int(month), int(day))
