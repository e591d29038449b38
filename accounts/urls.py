from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views, views_twofactor

urlpatterns = [
    # Django's LoginView, but a user with two-factor on continues to the code step.
    path("login/", views_twofactor.SignInView.as_view(), name="login"),
    path("login/code/", views_twofactor.login_verify, name="login_verify"),
    path("two-factor/", views_twofactor.two_factor_setup, name="two_factor_setup"),
    path(
        "two-factor/recovery-codes/",
        views_twofactor.recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path(
        "two-factor/disable/",
        views_twofactor.two_factor_disable_view,
        name="two_factor_disable",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("tokens/new/", views.token_new, name="token_new"),
    path("tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
