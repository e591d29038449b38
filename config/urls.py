from django.contrib import admin
from django.urls import include, path

from core import views as core_views

admin.site.site_header = "Rapport administration"
admin.site.site_title = "Rapport admin"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("search/", core_views.search, name="search"),
    path("accounts/", include("accounts.urls")),
    path("stakeholders/", include("stakeholders.urls")),
    path("relationships/", include("relationships.urls")),
    path("admin/", admin.site.urls),
]
