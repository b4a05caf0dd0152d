"""Load the demo: three real plans read from their notice workbooks, a current-year plan, users
for each role and a realistic spread of donations. Safe to run twice.

    python manage.py load_demo

The notices are read through the same notice reader staff use (fixtures/notices/); the
donations are synthetic people with valid ID numbers, generated from a fixed seed.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from campaigns.donors.identity import check_character
from campaigns.models import Donation, DonationDrive
from campaigns.services import donation_build
from quotas.models import AnnualPlan
from quotas.services import plan_copy_to_year, plan_import, plan_set_status
from units.models import Jurisdiction, Liaison, StaffProfile, Unit
from units.roles import BLOOD_OFFICE, LEADERSHIP, LIAISON
from units.services import jurisdiction_get_or_create

NOTICES = settings.BASE_DIR / "fixtures" / "notices"

# (province, city, county, region code for demo ID numbers, year, notice file stem)
DEMO_PLANS = [
    ("江西省", "宜春市", "袁州区", "360902", 2023, "yuanzhou-2023"),
    ("江苏省", "南通市", "如皋市", "320682", 2023, "rugao-2023"),
    ("江苏省", "扬州市", "仪征市", "321081", 2024, "yizheng-2024"),
]
CURRENT_PLAN_SOURCE = ("仪征市", 2024)

DEMO_USERS = [
    # username, password, role, display name
    ("office", "office-demo-2026", BLOOD_OFFICE, "献血办 王敏"),
    ("leader", "leader-demo-2026", LEADERSHIP, "分管领导 李强"),
    ("liaison", "liaison-demo-2026", LIAISON, "仪化公司联络员 陈静"),
]
LIAISON_UNITS = ["仪化公司"]

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强海燕文博子涵雨欣浩然梓萱思远一鸣佳怡晨阳"


class Command(BaseCommand):
    help = "Load the demo plans, users and donations (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="build the current-year plan and its donations as of this day (YYYY-MM-DD; default: today)",
        )

    def handle(self, *args, **options):
        self.rng = random.Random(2026)
        self.today = options["today"] or timezone.localdate()
        with transaction.atomic():
            counties = {}
            for province, city, county, code, year, stem in DEMO_PLANS:
                p = jurisdiction_get_or_create(name=province, level=Jurisdiction.Level.PROVINCE)
                c = jurisdiction_get_or_create(name=city, parent=p, level=Jurisdiction.Level.CITY)
                j = jurisdiction_get_or_create(name=county, parent=c, level=Jurisdiction.Level.COUNTY)
                counties[county] = (j, code)
                self._import(j, year, stem)
            current = self._current_plan(counties)
            users = self._users(counties)
            for plan in AnnualPlan.objects.select_related("jurisdiction"):
                name = plan.jurisdiction.name
                if (
                    name in counties
                    and not Donation.objects.filter(unit__quotas__plan=plan, donated_on__year=plan.year).exists()
                ):
                    self._donations(plan, counties[name][1], users["liaison"])
            self._drives(current)
        self.stdout.write(self.style.SUCCESS("演示数据已就绪。登录账号："))
        for username, password, role, _ in DEMO_USERS:
            self.stdout.write(f"  {role:<4} 用户名 {username:<8} 密码 {password}")

    def _import(self, jurisdiction, year, stem):
        if AnnualPlan.objects.filter(jurisdiction=jurisdiction, year=year).exists():
            return
        path = NOTICES / f"{stem}.xlsx"
        text = (NOTICES / f"{stem}-notice.txt").read_text(encoding="utf-8")
        report = plan_import(
            data=path.read_bytes(),
            filename=path.name,
            jurisdiction=jurisdiction,
            year=year,
            notice_text=text,
            plan_fields={"issuing_office": f"{jurisdiction.name}人民政府办公室"},
        )
        if report.errors:
            raise RuntimeError(f"{path.name}: {[e.message for e in report.errors]}")
        plan_set_status(plans=[report.plan], status=AnnualPlan.Status.CLOSED)
        self.stdout.write(f"{jurisdiction.full_name} {year}：{len(report.rows)} 条任务")

    def _current_plan(self, counties) -> AnnualPlan:
        """This year's plan: 仪征市's 2024 plan copied on, as staff would with the admin action."""
        name, source_year = CURRENT_PLAN_SOURCE
        jurisdiction = counties[name][0]
        year = self.today.year
        existing = AnnualPlan.objects.filter(jurisdiction=jurisdiction, year=year).first()
        if existing:
            return existing
        source = AnnualPlan.objects.get(jurisdiction=jurisdiction, year=source_year)
        plan = plan_copy_to_year(plan=source, year=year)
        plan.document_number = f"仪政办发〔{year}〕3号"
        plan.title = f"市政府办公室关于做好{year}年无偿献血工作的通知"
        plan.issue_date = dt.date(year, 2, 20)
        plan.save()
        plan_set_status(plans=[plan], status=AnnualPlan.Status.PUBLISHED)
        return plan

    def _users(self, counties):
        User = get_user_model()
        result = {}
        home = counties[CURRENT_PLAN_SOURCE[0]][0]
        for username, password, role, display in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
            user.first_name = display
            user.is_staff = role in (BLOOD_OFFICE, LEADERSHIP)
            user.save()
            user.groups.add(Group.objects.get(name=role))
            if role == LIAISON:
                liaison, _ = Liaison.objects.get_or_create(user=user, defaults={"phone": "13800000000"})
                liaison.units.add(*Unit.objects.filter(jurisdiction=home, name__in=LIAISON_UNITS))
            else:
                # Leadership looks from the city down (drill-down to the county); staff work in the county.
                where = home.parent if role == LEADERSHIP and home.parent_id else home
                StaffProfile.objects.update_or_create(user=user, defaults={"jurisdiction": where})
            result[username] = user
        return result

    def _donations(self, plan, region_code, liaison_user):
        """Donations per quota: some units done, some behind, some overdue."""
        end_of_data = min(plan.year_end, self.today)
        used: set[tuple[str, dt.date]] = set()
        batch = []
        for quota in plan.quotas.prefetch_related("units").filter(advisory=False):
            units = list(quota.units.all())
            if not units or quota.target == 0:
                continue
            start = quota.period_start or plan.year_start
            end = quota.period_end or plan.year_end
            if start > end_of_data:
                share = self.rng.choice([0.0, 0.0, 0.1])  # not started: a few early donors
            else:
                share = self.rng.choices([1.05, 0.85, 0.6, 0.3], weights=[5, 2, 2, 1])[0]
            count = round(quota.target * share)
            # donations up to 20 days before the period, and never after the day the data end
            window_start = min(max(plan.year_start, start - dt.timedelta(days=20)), end_of_data)
            window_end = max(window_start, min(end, end_of_data))
            for _ in range(count):
                day = window_start + dt.timedelta(days=self.rng.randint(0, (window_end - window_start).days))
                number = self._id_number(region_code, day)
                if (number, day) in used:
                    continue
                used.add((number, day))
                platelets = self.rng.random() < 0.05
                batch.append(
                    donation_build(
                        unit=self.rng.choice(units),
                        donor_name=self.rng.choice(SURNAMES) + self.rng.choice(GIVEN) + self.rng.choice(["", *GIVEN]),
                        id_number=number,
                        donated_on=day,
                        kind=Donation.Kind.PLATELETS if platelets else Donation.Kind.WHOLE_BLOOD,
                        amount=self.rng.choice([1, 1, 2])
                        if platelets
                        else self.rng.choices([200, 300, 400], weights=[3, 3, 4])[0],
                        logged_by=liaison_user,
                        status=Donation.Status.VERIFIED if day.year < self.today.year else Donation.Status.LOGGED,
                    )
                )
        Donation.objects.bulk_create(batch, batch_size=2000)
        self.stdout.write(f"{plan}：{len(batch)} 条献血记录")

    def _id_number(self, region_code: str, day: dt.date) -> str:
        age = self.rng.randint(18, 54)
        birth = dt.date(day.year - age - 1, self.rng.randint(1, 12), self.rng.randint(1, 28))
        first17 = f"{region_code}{birth:%Y%m%d}{self.rng.randint(0, 999):03d}"
        return first17 + check_character(first17)

    def _drives(self, plan):
        if plan.drives.exists():
            return
        for quota in plan.quotas.prefetch_related("units").filter(period_start__isnull=False)[:40]:
            if quota.period_start.month not in (
                self.today.month,
                self.today.month + 1 if self.today.month < 12 else 12,
            ):
                continue
            day = max(quota.period_start, self.today) + dt.timedelta(days=3)
            if day > quota.period_end:
                day = quota.period_end
            drive = DonationDrive.objects.create(
                plan=plan,
                title=f"{quota.label[:30]}集中献血",
                start_date=day,
                end_date=day,
                place=quota.location or "单位门前广场",
                station="仪征市中心血站采血车",
            )
            drive.units.add(*quota.units.all())


def demo_notice_paths() -> list[Path]:
    """The three notice workbooks the demo loads, for tests."""
    return [NOTICES / f"{stem}.xlsx" for *_, stem in DEMO_PLANS]
