from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from batoshelf.http import IdConverter

register_converter(IdConverter, "id")


def account_page(route, view, name, heading, **texts):
    """One of Django's account views on our own page: a form page, or a "done" page when it has a message."""
    mail = {}
    if view is auth_views.PasswordResetView:
        mail = {
            "email_template_name": "registration/password_reset_email.txt",
            "subject_template_name": "registration/password_reset_subject.txt",
        }
    template = "registration/account_done.html" if "message" in texts else "registration/account_form.html"
    return path(
        route, view.as_view(template_name=template, extra_context={"heading": heading, **texts}, **mail), name=name
    )


urlpatterns = [
    path("", include("scraping.staff.urls")),  # before admin/: the dashboard lives under it
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    account_page(
        "accounts/password_change/",
        auth_views.PasswordChangeView,
        "password_change",
        "Change your password",
        button="Change it",
    ),
    account_page(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView,
        "password_change_done",
        "Password changed",
        message="Your password is changed.",
    ),
    account_page(
        "accounts/password_reset/",
        auth_views.PasswordResetView,
        "password_reset",
        "Set a new password",
        intro="Give your account's mail address: a link to set a new password goes there.",
        button="Send the link",
    ),
    account_page(
        "accounts/password_reset/done/",
        auth_views.PasswordResetDoneView,
        "password_reset_done",
        "Look in your mail",
        message="If an account has that address, a mail with a link to set a new password is on its way.",
    ),
    account_page(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView,
        "password_reset_confirm",
        "Set a new password",
        button="Set it",
    ),
    account_page(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView,
        "password_reset_complete",
        "Password set",
        message="Your new password is set.",
    ),
    path("", include("scraping.urls")),
    path("", include("readers.urls")),
    path("", include("notifications.urls")),
    path("", RedirectView.as_view(pattern_name="readers:shelf", permanent=False)),
]
