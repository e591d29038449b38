from django.urls import path

from security import views

app_name = "security"

urlpatterns = [
    path("log/", views.log, name="log"),
    path("log/export/", views.log_export, name="log_export"),
    path("sessions/sign-out-others/", views.sessions_end_others, name="sessions_end_others"),
]
