from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("", views.organisation, name="organisation"),
    path("mine/", views.mine, name="mine"),
    path("relationships/<int:pk>/", views.relationship, name="relationship"),
    path("stakeholders/<int:pk>/", views.stakeholder, name="stakeholder"),
]
