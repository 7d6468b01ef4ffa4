from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import include, path, register_converter
from django.views.generic import RedirectView, TemplateView
from django_ratelimit.decorators import ratelimit

from batoshelf.http import IdConverter, client_address

register_converter(IdConverter, "id")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with the link in the mail built from BATOSHELF_SITE_URL, never from the request's Host,
    and so many mails an hour from one address and to one mail address."""

    def form_valid(self, form):
        site = urlsplit(settings.BATOSHELF_SITE_URL)
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            html_email_template_name=self.html_email_template_name,
            extra_email_context=self.extra_email_context,
        )
        return HttpResponseRedirect(self.get_success_url())


def per_hour(view):
    rate = f"{settings.PASSWORD_RESETS_PER_HOUR}/h"
    view = ratelimit(key=lambda group, request: client_address(request), rate=rate, method="POST")(view)
    return ratelimit(key="post:email", rate=rate, method="POST")(view)


def account_page(route, view, name, heading, **texts):
    """One of Django's account views on our own page: a form page, or a "done" page when it has a message."""
    mail = {}
    if view is PasswordResetView:
        mail = {
            "email_template_name": "registration/password_reset_email.txt",
            "subject_template_name": "registration/password_reset_subject.txt",
        }
    template = "registration/account_done.html" if "message" in texts else "registration/account_form.html"
    page = view.as_view(template_name=template, extra_context={"heading": heading, **texts}, **mail)
    return path(route, per_hour(page) if view is PasswordResetView else page, name=name)


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
        PasswordResetView,
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
    path("", include("library.urls")),
    path("", include("notifications.urls")),
    # Browsers ask for it whatever the pages declare.
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}batoshelf/icon-192.png", permanent=True)),
    # What makes the reader's pages an installable web app (a phone's home screen).
    path(
        "manifest.webmanifest",
        TemplateView.as_view(template_name="manifest.webmanifest", content_type="application/manifest+json"),
        name="manifest",
    ),
    path("", RedirectView.as_view(pattern_name="readers:shelf", permanent=False)),
]
