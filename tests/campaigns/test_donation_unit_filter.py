"""The donation review list's unit filter: a searchable box over the user's own units (the
admin's autocomplete), never a link per unit of the country; its queries do not grow with the
number of units."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from tests.factories import JurisdictionFactory, UnitFactory, make_donation

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)
URL = "/admin/campaigns/donation/"
AUTOCOMPLETE = "/admin/autocomplete/?app_label=campaigns&model_name=donation&field_name=unit&term="


@pytest.fixture
def elsewhere():
    """Another office's jurisdiction with a unit and a donation."""
    other = JurisdictionFactory(name="别的县")
    unit = UnitFactory(name="别县化工厂", jurisdiction=other)
    make_donation(unit, donated_on=DAY, seq=301, donor_name="外县人")
    return unit


def test_the_unit_filter_is_a_search_box_not_a_list_of_every_unit(staff_client, unit_a, unit_b, elsewhere):
    make_donation(unit_a, donated_on=DAY, seq=302, donor_name="甲")
    make_donation(unit_b, donated_on=DAY, seq=303, donor_name="乙")
    html = staff_client.get(URL).content.decode()
    assert 'class="admin-autocomplete"' in html and 'data-field-name="unit"' in html
    assert "unit__id__exact=" not in html  # no link per unit
    assert "别县化工厂" not in html and "外县人" not in html

    chosen = staff_client.get(f"{URL}?unit__id__exact={unit_a.pk}&status=logged")
    html = chosen.content.decode()
    assert [d.donor_name for d in chosen.context["cl"].result_list] == ["甲"]
    assert f'<option value="{unit_a.pk}" selected>仪化公司</option>' in html  # the box shows the choice
    assert '<input type="hidden" name="status" value="logged">' in html  # other filters ride along


def test_another_offices_unit_in_the_address_bar_is_neither_named_nor_found(staff_client, unit_a, elsewhere):
    response = staff_client.get(f"{URL}?unit__id__exact={elsewhere.pk}")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert "别县化工厂" not in response.content.decode()


def test_the_box_searches_only_the_users_units(staff_client, unit_a, unit_b, elsewhere):
    found = json.loads(staff_client.get(AUTOCOMPLETE + "化").content)["results"]
    assert [r["text"] for r in found] == ["仪化公司"]  # 别县化工厂 is another office's
    everything = json.loads(staff_client.get(AUTOCOMPLETE).content)["results"]
    assert {r["text"] for r in everything} == {"仪化公司", "教育局"}


def test_the_review_list_queries_do_not_grow_with_units(
    staff_client, jurisdiction, unit_a, elsewhere, django_assert_num_queries
):
    for i in range(3):
        make_donation(UnitFactory(name=f"单位{i}", jurisdiction=jurisdiction), donated_on=DAY, seq=310 + i)
    staff_client.get(URL)  # warm the session and the content types
    # 1 session, 2 the user with role and permissions, 3 the scope, 4 the jurisdiction filter's
    # choices, 5 the count, 6 the full count, 7 the page's donations (with unit and logger),
    # 8 and 9 the date hierarchy (first and last day, the days): the unit filter adds none
    with django_assert_num_queries(PINNED) as few:
        staff_client.get(URL)
    for i in range(3, 40):
        make_donation(UnitFactory(name=f"单位{i}", jurisdiction=jurisdiction), donated_on=DAY, seq=310 + i)
    with django_assert_num_queries(len(few.captured_queries)):
        response = staff_client.get(URL)
    assert response.context["cl"].result_count == 40
    # A chosen unit costs one query more: its name in the box.
    with django_assert_num_queries(len(few.captured_queries) + 1):
        staff_client.get(f"{URL}?unit__id__exact={unit_a.pk}")


PINNED = 9


def test_the_filter_keeps_the_admins_own_parameter_name(staff_client, unit_a):
    """Links written for Django's related filter (`unit__id__exact`) still filter."""
    make_donation(unit_a, donated_on=DAY, seq=320, donor_name="丙")
    url = reverse("admin:campaigns_donation_changelist") + f"?unit__id__exact={unit_a.pk}"
    response = staff_client.get(url)
    assert response.status_code == 200 and response.context["cl"].result_count == 1
