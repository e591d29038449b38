from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("home/", views.home, name="home"),
    path("chart/<slug:name>/", views.chart, name="chart"),
    path("chart/<slug:name>.csv", views.chart_csv, name="chart_csv"),
]
