from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/reviewers/", views.ask_reviewer, name="ask_reviewer"),
    path("relationship/<int:relationship_pk>/", views.relationship_reviews, name="relationship"),
    path("relationship/<int:relationship_pk>/start/", views.start, name="start"),
    path(
        "relationship/<int:relationship_pk>/feedback/",
        views.feedback_request,
        name="feedback_request",
    ),
]
