from django.urls import path

from devmail import views

app_name = "devmail"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
]
