"""Mounted at /feedback/ (outside login): the stakeholder's survey page."""

from django.urls import path

from reviews import public_views

app_name = "feedback"

urlpatterns = [
    path("<str:token>/", public_views.answer, name="answer"),
]
