from django.urls import path

from relationships import views

app_name = "relationships"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("board/", views.board, name="board"),
    path("export.csv", views.export_csv, name="export"),
    path("my/commitments/", views.my_commitments, name="my_commitments"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/history/", views.history, name="history"),
    path("<int:pk>/transition/", views.transition, name="transition"),
    path("<int:pk>/interactions/new/", views.interaction_new, name="interaction_new"),
    path("<int:pk>/commitments/new/", views.commitment_new, name="commitment_new"),
    path("<int:pk>/value/new/", views.value_new, name="value_new"),
    path("<int:pk>/rating/", views.rating, name="rating"),
    path("commitments/<int:pk>/status/", views.commitment_status, name="commitment_status"),
]
