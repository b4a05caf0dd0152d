"""URL configuration: admin for blood-office staff, pages for liaisons and leadership."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe
from django.views.i18n import JavaScriptCatalog

from units.views import home


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico; the icon is a static SVG (its name is hashed in production)."""
    return redirect(static_url("favicon.svg"), permanent=True)


# Translated like the portal's own pages (an English admin said 无偿献血任务管理 in its header).
admin.site.site_header = _("无偿献血任务管理")
admin.site.site_title = _("无偿献血任务管理")
admin.site.index_title = _("献血办工作台")
admin.site.site_url = "/dashboard/"  # 查看站点: the dashboard (the home page sends staff back to the admin)

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("", include("campaigns.urls")),
    path("", include("stations.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
