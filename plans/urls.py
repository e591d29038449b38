from django.urls import path

from plans import views

app_name = "plans"

urlpatterns = [
    path("", views.index, name="index"),
    path("contribution/", views.contribution, name="contribution"),
    path("objectives/new/", views.objective_create, name="objective_create"),
    path("objectives/<int:pk>/", views.objective_detail, name="objective_detail"),
    path("objectives/<int:pk>/children/", views.objective_children, name="objective_children"),
    path("objectives/<int:pk>/edit/", views.objective_edit, name="objective_edit"),
    path("objectives/<int:pk>/move/", views.objective_move, name="objective_move"),
    path("objectives/<int:pk>/delete/", views.objective_delete, name="objective_delete"),
    path("objectives/<int:pk>/measurements/", views.measurement_create, name="measurement_create"),
    path("list/", views.plan_list, name="plan_list"),
    path("new/", views.plan_create, name="plan_create"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("<int:pk>/export.csv", views.plan_export, name="plan_export"),
    path("<int:pk>/initiatives/new/", views.initiative_create, name="initiative_create"),
    path("initiatives/<int:pk>/edit/", views.initiative_edit, name="initiative_edit"),
]
