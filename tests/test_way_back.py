"""Always a way back: the admin's header leads to the dashboard and the notice import, and the
error pages are the portal's own, translated."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_admin_header_links_to_the_dashboard_and_the_notice_import(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    nav = html[html.index('id="portal-nav"') :]
    assert reverse("campaigns:dashboard") in nav and reverse("admin:quotas_annualplan_import") in nav
    assert 'href="/dashboard/">' in html  # 查看站点 goes to the dashboard, not back to the plan list


def test_leadership_sees_no_import_link(leader_client):
    html = leader_client.get(reverse("admin:quotas_annualplan_changelist")).content.decode()
    assert reverse("admin:quotas_annualplan_import") not in html
    assert reverse("campaigns:dashboard") in html


@override_settings(DEBUG=False)
def test_404_is_the_portals_page_in_chinese_and_english(staff_client):
    response = staff_client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在（404）" in html and 'class="topbar"' in html and reverse("home") in html
    staff_client.cookies["django_language"] = "en"
    response = staff_client.get("/no-such-page/")
    assert "Page not found (404)" in response.content.decode()


@override_settings(DEBUG=False)
def test_403_is_the_portals_page(leader_client):
    response = leader_client.get(reverse("admin:quotas_annualplan_add"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "无权访问（403）" in html and reverse("campaigns:dashboard") in html


def test_500_renders_without_a_request_context():
    with translation.override("en"):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Server error (500)" in response.content.decode()
