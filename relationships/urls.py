from django.urls import path

from relationships import views

app_name = "relationships"

urlpatterns = [
    path("", views.index, name="index"),
]
