from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/rotate-secret/", views.rotate_secret, name="rotate_secret"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("deliveries/<int:pk>/redeliver/", views.redeliver, name="redeliver"),
]
