"""The liaison's pages: log donors, rules on the way in, strict scoping, roster upload."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaigns.models import Donation, DonationDrive
from tests.factories import QuotaFactory, UserFactory, id_number, make_donation, make_liaison

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def current_plan(plan, unit_a, unit_b):
    plan.year = TODAY.year
    plan.save()
    QuotaFactory(plan=plan, label="仪化公司", units=[unit_a], target=5)
    QuotaFactory(plan=plan, label="教育局", units=[unit_b], target=5)
    return plan


def log(client, **overrides):
    data = {
        "unit": Donation._meta.get_field("unit").related_model.objects.get(name="仪化公司").pk,
        "donor_name": "李四",
        "id_number": id_number(seq=11),
        "donated_on": TODAY.isoformat(),
        "amount": "whole:400",
        "phone": "",
    } | overrides
    return client.post("/liaison/log/", data, follow=True)


def test_log_a_donor_derives_sex_and_birth_and_masks_the_id(liaison_client, current_plan):
    page = log(liaison_client).content.decode()
    donation = Donation.objects.get()
    assert (donation.sex, donation.birth_date, donation.volume_ml) == ("M", dt.date(1991, 1, 1), 400)
    assert id_number(seq=11) not in donation.id_number_encrypted and id_number(seq=11) not in page
    assert "3604**********" in page and "已登记" in page


def test_wrong_id_says_which_character(liaison_client, current_plan):
    page = log(liaison_client, id_number="360426199101010072").content.decode()
    assert "第 18 位" in page and Donation.objects.count() == 0


def test_same_person_same_day_is_refused_whoever_logged_it(liaison_client, current_plan, unit_b):
    make_donation(unit_b, donated_on=TODAY, seq=11)
    page = log(liaison_client).content.decode()
    assert "重复" in page and Donation.objects.count() == 1


def test_future_date_and_date_outside_the_plan_year_are_refused(liaison_client, current_plan):
    assert "不能晚于今天" in log(liaison_client, donated_on=(TODAY + dt.timedelta(days=1)).isoformat()).content.decode()
    page = log(liaison_client, donated_on=dt.date(TODAY.year - 1, 6, 1).isoformat()).content.decode()
    assert f"{TODAY.year} 年" in page and Donation.objects.count() == 0


def test_interval_breach_is_logged_with_a_flag_for_staff(liaison_client, current_plan, unit_b):
    make_donation(unit_b, donated_on=TODAY - dt.timedelta(days=30), seq=11)
    page = log(liaison_client).content.decode()
    flagged = Donation.objects.get(unit__name="仪化公司")
    assert flagged.flags[0]["code"] == "whole_interval" and "复核" in page


def test_platelets_in_doses(liaison_client, current_plan):
    log(liaison_client, amount="platelets:2")
    donation = Donation.objects.get()
    assert (donation.kind, donation.doses, donation.volume_ml, donation.blood_units) == ("platelets", 2, None, 2)


def test_liaison_cannot_log_for_another_unit(liaison_client, current_plan, unit_b):
    page = log(liaison_client, unit=unit_b.pk).content.decode()
    assert Donation.objects.count() == 0
    assert "选择一个有效的选项" in page


def test_a_donor_at_one_of_the_units_drives_and_not_at_anothers(liaison_client, current_plan, unit_a, unit_b):
    ours = DonationDrive.objects.create(plan=current_plan, start_date=TODAY, end_date=TODAY, place="本单位广场")
    ours.units.add(unit_a)
    theirs = DonationDrive.objects.create(plan=current_plan, start_date=TODAY, end_date=TODAY, place="别家广场")
    theirs.units.add(unit_b)
    form = liaison_client.get("/liaison/log/").content.decode()
    assert f'<option value="{ours.pk}">' in form and "别家广场" not in form
    refused = log(liaison_client, drive=theirs.pk).content.decode()
    assert "选择一个有效的选项" in refused and "本单位广场" in refused and Donation.objects.count() == 0
    log(liaison_client, drive=ours.pk)
    donation = Donation.objects.get()
    assert donation.drive == ours
    edit = liaison_client.get(f"/liaison/donations/{donation.pk}/edit/").content.decode()
    assert f'<option value="{ours.pk}" selected>' in edit and "别家广场" not in edit


def test_a_liaison_of_two_units_chooses_the_unit(liaison_client, liaison_user, current_plan, unit_a, unit_b):
    make_liaison(liaison_user, unit_b)
    form = liaison_client.get("/liaison/log/").content.decode()
    assert f'<option value="{unit_a.pk}">{unit_a.name}</option>' in form and unit_b.name in form
    log(liaison_client, unit=unit_b.pk)
    assert Donation.objects.get().unit == unit_b


def test_edit_and_withdraw_only_own_units_and_only_while_logged(liaison_client, current_plan, unit_a, unit_b):
    own = make_donation(unit_a, donated_on=TODAY, seq=13)
    other = make_donation(unit_b, donated_on=TODAY, seq=15)
    assert liaison_client.get(f"/liaison/donations/{other.pk}/edit/").status_code == 404
    assert liaison_client.post(f"/liaison/donations/{other.pk}/withdraw/").status_code == 404
    assert Donation.objects.filter(pk=other.pk).exists()
    response = liaison_client.post(
        f"/liaison/donations/{own.pk}/edit/",
        {
            "unit": unit_a.pk,
            "donor_name": "王五",
            "id_number": id_number(seq=13),
            "donated_on": TODAY.isoformat(),
            "amount": "whole:300",
        },
    )
    own.refresh_from_db()
    assert response.status_code == 302 and (own.donor_name, own.volume_ml) == ("王五", 300)
    Donation.objects.filter(pk=own.pk).update(status="verified")
    liaison_client.post(f"/liaison/donations/{own.pk}/withdraw/")
    assert Donation.objects.filter(pk=own.pk).exists()  # verified: locked


def test_home_lists_only_own_donors(liaison_client, current_plan, unit_a, unit_b):
    make_donation(unit_a, donated_on=TODAY, seq=13, donor_name="本单位人")
    make_donation(unit_b, donated_on=TODAY, seq=15, donor_name="外单位人")
    page = liaison_client.get("/liaison/").content.decode()
    assert "本单位人" in page and "外单位人" not in page


def test_other_roles_cannot_use_liaison_pages(leader_client, staff_client):
    for client in (leader_client, staff_client):
        assert client.get("/liaison/log/").status_code == 403
        assert client.get("/liaison/roster/").status_code == 403


def roster(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["无偿献血者人员名单"])
    sheet.append(["序号", "姓名", "性别", "身份证号", "献血日期", "献血量", "单位"])
    for row in rows:
        sheet.append(row)
    sheet.append(["填表人：张三"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, data, unit):
    return client.post("/liaison/roster/", {"unit": unit.pk, "file": SimpleUploadedFile("名单.xlsx", data)})


def test_roster_preview_then_commit_all(liaison_client, current_plan, unit_a):
    data = roster(
        [
            [1, "甲", "男", id_number(seq=21), TODAY, 400, "仪化公司"],
            [2, "乙", "女", id_number(seq=22), TODAY.isoformat(), "300ml", ""],
        ]
    )
    preview = upload(liaison_client, data, unit_a)
    assert "共 2 行，其中 0 行有错误" in preview.content.decode() and Donation.objects.count() == 0
    liaison_client.post("/liaison/roster/", {"token": preview.context["token"]})
    assert sorted(Donation.objects.values_list("donor_name", "volume_ml")) == [("乙", 300), ("甲", 400)]


def test_roster_with_one_bad_row_saves_nothing(liaison_client, current_plan, unit_a):
    data = roster(
        [
            [1, "甲", "男", id_number(seq=21), TODAY, 400, ""],
            [2, "乙", "女", "360426199101010072", TODAY, 400, ""],
            [3, "丙", "女", id_number(seq=23), TODAY, 400, "教育局"],
        ]
    )
    preview = upload(liaison_client, data, unit_a)
    page = preview.content.decode()
    assert "第 18 位" in page and "不是您负责的单位" in page and "确认保存" not in page
    assert preview.context["token"] is None  # nothing to commit, nothing staged
    assert Donation.objects.count() == 0


def test_roster_template_downloads(liaison_client, current_plan):
    response = liaison_client.get("/liaison/roster/template.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[2]][:4] == ["序号", "姓名", "性别", "身份证号"]


def test_another_liaisons_roster_token_is_useless(client, liaison_client, current_plan, unit_a, unit_b):
    preview = upload(liaison_client, roster([[1, "甲", "男", id_number(seq=21), TODAY, 400, ""]]), unit_a)
    other = UserFactory(username="other-liaison", role="联络员")
    make_liaison(other, unit_b)
    client.force_login(other)
    client.post("/liaison/roster/", {"token": preview.context["token"]})
    assert Donation.objects.count() == 0


def test_home_puts_what_needs_doing_first_and_a_closed_year_last(liaison_client, jurisdiction, unit_a):
    """Overdue, then behind or due soonest, then done; a closed plan's quotas say 已结束 with their
    final result; each card is titled with its period and task."""
    from campaigns.selectors import liaison_progress
    from tests.factories import PlanFactory

    today = dt.date(2026, 7, 15)
    plan = PlanFactory(jurisdiction=jurisdiction, year=2026)
    march = QuotaFactory(plan=plan, units=[unit_a], target=1, period_text="三月")
    april = QuotaFactory(
        plan=plan, units=[unit_a], target=5, period_text="四月",
        period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 4, 30),
    )
    december = QuotaFactory(
        plan=plan, units=[unit_a], target=5, period_text="十二月",
        period_start=dt.date(2026, 12, 1), period_end=dt.date(2026, 12, 31),
    )
    closed = QuotaFactory(
        plan=PlanFactory(jurisdiction=jurisdiction, year=2025, status="closed"), units=[unit_a], target=3,
        period_text="全年", period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31),
    )
    make_donation(unit_a, donated_on=dt.date(2026, 3, 10), seq=41)
    order = [p.quota for p in liaison_progress([unit_a], today=today)]
    assert order == [april, december, march, closed]

    page = liaison_client.get("/liaison/").content.decode()
    assert "四月 · 任务 5 人" in page and "已结束" in page and "最终结果：已逾期" in page


def test_the_card_shows_how_many_of_the_completed_the_station_verified(liaison_client, plan, unit_a):
    """Issue 21: beside completed, the station-verified ones and their share, counted by the same
    rules as the dashboard's verified basis; nothing is said before the station verified any."""
    QuotaFactory(plan=plan, label="仪化公司", target=4, units=[unit_a])
    donations = [make_donation(unit_a, donated_on=dt.date(plan.year, 3, 2 + i), seq=31 + 2 * i) for i in range(3)]
    page = liaison_client.get("/liaison/").content.decode()
    assert "血站核实" not in page.split('<div class="cards">')[1].split("</div>\n\n")[0]
    Donation.objects.filter(pk__in=[d.pk for d in donations[:2]]).update(station_verified=True)
    page = liaison_client.get("/liaison/").content.decode()
    assert "血站核实 2 · 66.7%" in page
