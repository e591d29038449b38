from django.urls import path

from stakeholders import views

app_name = "stakeholders"

urlpatterns = [
    path("", views.index, name="index"),
    path("", views.index, name="list"),  # alias: "index" is what the navigation looks up
    path("new/", views.create, name="create"),
    path("export.csv", views.export, name="export"),
    path("import/", views.import_csv, name="import"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/assess/", views.assess, name="assess"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("contacts/", views.contacts, name="contacts"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/export.csv", views.contact_export, name="contact_export"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
]
