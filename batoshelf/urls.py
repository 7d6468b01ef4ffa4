from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from batoshelf.http import IdConverter

register_converter(IdConverter, "id")

# Our own pages for the account views Django provides: one form page, one "done" page.
FORM = "registration/account_form.html"
DONE = "registration/account_done.html"

urlpatterns = [
    path("", include("scraping.staff.urls")),  # before admin/: the dashboard lives under it
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(
            template_name=FORM, extra_context={"heading": "Change your password", "button": "Change it"}
        ),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name=DONE, extra_context={"heading": "Password changed", "message": "Your password is changed."}
        ),
        name="password_change_done",
    ),
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(
            template_name=FORM,
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            extra_context={
                "heading": "Set a new password",
                "intro": "Give your account's mail address: a link to set a new password goes there.",
                "button": "Send the link",
            },
        ),
        name="password_reset",
    ),
    path(
        "accounts/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(
            template_name=DONE,
            extra_context={
                "heading": "Look in your mail",
                "message": "If an account has that address, a mail with a link to set a new password is on its way.",
            },
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name=FORM, extra_context={"heading": "Set a new password", "button": "Set it"}
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name=DONE, extra_context={"heading": "Password set", "message": "Your new password is set."}
        ),
        name="password_reset_complete",
    ),
    path("", include("scraping.urls")),
    path("", include("notifications.urls")),
    path("", RedirectView.as_view(pattern_name="notifications:shelf", permanent=False)),
]
