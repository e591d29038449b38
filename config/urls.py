from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views_twofactor as accounts_twofactor_views
from core import views as core_views
from dashboard import views as dashboard_views

# Swagger UI's page (drf-spectacular's template) carries one small inline <style>; allow
# exactly that block by its hash, on this page only, rather than 'unsafe-inline' anywhere.
SWAGGER_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"
api_docs = csp_update({"style-src": [SWAGGER_STYLE_HASH]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("search/", core_views.search, name="search"),
    path("search/palette/", core_views.palette, name="search_palette"),
    path("accounts/", include("accounts.urls")),
    path("stakeholders/", include("stakeholders.urls")),
    path("relationships/", include("relationships.urls")),
    path("plans/", include("plans.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("reviews/", include("reviews.urls")),
    path("notifications/", include("notifications.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("security/", include("security.urls")),
    path("activity/", include("events.urls")),
    # Sent e-mails, kept in development (settings.DEV_MAIL): admins only, 404 elsewhere.
    path("dev/mail/", include("devmail.urls")),
    # Public survey pages for stakeholders: the views are @login_not_required.
    path("feedback/", include("reviews.public_urls")),
    # The admin's own login form would skip the two-factor step: send it to ours.
    path("admin/login/", accounts_twofactor_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("config.api_urls", "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
]

# Error pages in the product's look; 500 (and 503 for a database outage) without the database.
handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"

if settings.RAPPORT_BENCH:
    from core import bench

    urlpatterns.append(path("_bench/floor", bench.floor, name="bench-floor"))
