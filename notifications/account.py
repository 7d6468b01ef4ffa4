"""A reader's own account: settings (channels, feed, time zone, digest), deleting it, signing up
through an invite, and the invites staff make; the pages and the JSON API over them."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from batoshelf.http import api_login_required, json_body, json_error
from notifications.channels import send
from notifications.digest import next_digest_at
from notifications.forms import AccountForm, ChannelForm, DeleteAccountForm, InviteForm, SignupForm
from notifications.models import Channel, Invite, Notification, Reader, default_channel_kinds, new_secret_token

TEST_TITLE = "batoshelf: a test"
TEST_BODY = "This channel works: batoshelf's notifications will come here like this."
FEED_SIZE = 50


def _feed_url(request, reader):
    return request.build_absolute_uri(reverse("notifications:feed", args=[reader.feed_token]))


@login_required
def settings_page(request):
    reader = Reader.of(request.user)
    form = ChannelForm(user=request.user)
    account = AccountForm(instance=reader)
    if request.method == "POST" and request.POST.get("form") == "account":
        account = AccountForm(request.POST, instance=reader)
        if account.is_valid():
            account.save()
            messages.success(request, "Your settings are saved.")
            return redirect("notifications:settings")
    elif request.method == "POST":
        form = ChannelForm(request.POST, user=request.user)
        if form.is_valid():
            channel = form.save()
            messages.success(request, f"Channel {channel.name!r} added. Send it a test to see that it works.")
            return redirect("notifications:settings")
    context = {
        "form": form,
        "account": account,
        "delete_form": DeleteAccountForm(user=request.user),
        "channels": list(Channel.objects.filter(user=request.user)),
        "feed_url": _feed_url(request, reader),
        "next_digest_at": next_digest_at(reader, timezone.now()),
    }
    return render(request, "notifications/settings.html", context, status=400 if form.errors or account.errors else 200)


@login_required
@require_POST
def account_delete(request):
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Your account is still here: that is not your password.")
        return redirect("notifications:settings")
    name = request.user.get_username()
    user = request.user
    logout(request)
    user.delete()  # follows, notifications, channels and the feed go with it
    messages.success(request, f"The account {name} and everything of it is deleted.")
    return redirect("login")


@staff_member_required
def invites(request):
    form = InviteForm()
    if request.method == "POST":
        form = InviteForm(request.POST)
        if form.is_valid():
            invite = form.save(commit=False)
            invite.created_by = request.user
            invite.expires_at = timezone.now() + timedelta(days=form.cleaned_data["days"])
            invite.save()
            messages.success(request, "Invite made: send its link to the person it is for.")
            return redirect("notifications:invites")
    now = timezone.now()
    made = [
        {"invite": invite, "url": request.build_absolute_uri(reverse("notifications:signup", args=[invite.token]))}
        for invite in Invite.objects.usable(now).select_related("created_by")
    ]
    used = Invite.objects.filter(used_at__isnull=False).select_related("used_by")[:20]
    return render(request, "notifications/invites.html", {"form": form, "invites": made, "used": used})


@staff_member_required
@require_POST
def invite_revoke(request, invite_id):
    Invite.objects.filter(pk=invite_id, used_at__isnull=True).delete()
    messages.success(request, "The invite no longer works.")
    return redirect("notifications:invites")


def signup(request, token):
    now = timezone.now()
    invite = Invite.objects.usable(now).filter(token=token).first()
    if invite is None:
        return render(request, "notifications/signup.html", {"invite": None}, status=404)
    form = SignupForm()
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                # Taken before the account is made: of two sign-ups on one link, one wins.
                if not Invite.objects.usable(now).filter(pk=invite.pk).update(used_at=now):
                    return render(request, "notifications/signup.html", {"invite": None}, status=404)
                user = form.save(commit=False)
                user.email = form.cleaned_data["email"]
                user.is_staff = invite.staff
                user.save()
                Invite.objects.filter(pk=invite.pk).update(used_by=user)
                Reader.objects.create(user=user, time_zone=form.cleaned_data["time_zone"])
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.get_username()}. Add the titles you follow here.")
            return redirect("notifications:shelf")
    return render(
        request, "notifications/signup.html", {"invite": invite, "form": form}, status=400 if form.errors else 200
    )


def _own_channel(request, channel_id):
    """The user's channel; another reader's is as missing as one that does not exist."""
    return get_object_or_404(Channel, pk=channel_id, user=request.user)


def _test(channel):
    problem = send(channel.url, TEST_TITLE, TEST_BODY)
    return problem is None, problem or f"A test went to {channel.name!r}."


@login_required
@require_POST
def channel_test(request, channel_id):
    sent, detail = _test(_own_channel(request, channel_id))
    (messages.success if sent else messages.error)(request, detail if sent else f"The test did not go: {detail}")
    return redirect("notifications:settings")


@login_required
@require_POST
def channel_toggle(request, channel_id):
    channel = _own_channel(request, channel_id)
    channel.enabled = not channel.enabled
    if channel.enabled:
        channel.failures_in_a_row, channel.disabled_at = 0, None
    channel.save(update_fields=["enabled", "failures_in_a_row", "disabled_at"])
    messages.success(request, f"Channel {channel.name!r} is {'on' if channel.enabled else 'off'}.")
    return redirect("notifications:settings")


@login_required
@require_POST
def channel_delete(request, channel_id):
    channel = _own_channel(request, channel_id)
    channel.delete()
    messages.success(request, f"Channel {channel.name!r} deleted.")
    return redirect("notifications:settings")


@login_required
@require_POST
def feed_regenerate(request):
    Reader.objects.filter(user=request.user).update(feed_token=new_secret_token())
    messages.success(request, "Your feed has a new address; the old one no longer works.")
    return redirect("notifications:settings")


# The JSON API


@api_login_required
@require_http_methods(["GET", "POST"])
def api_channels(request):
    if request.method == "GET":
        return JsonResponse({"channels": [c.to_dict() for c in Channel.objects.filter(user=request.user)]})
    data = json_body(request)
    kinds = data.get("kinds", default_channel_kinds())
    if not (isinstance(kinds, list) and all(isinstance(k, str) for k in kinds)):
        return json_error(400, 'kinds must be a list of kinds of notification, such as ["new_chapter"]')
    fields = {"name": data.get("name"), "url": data.get("url"), "min_importance": data.get("min_importance", 1)}
    if not all(
        value is None or isinstance(value, str | int) and not isinstance(value, bool) for value in fields.values()
    ):
        return json_error(400, "name and url must be text, min_importance a number from 1 to 3")
    form = ChannelForm({**fields, "kinds": kinds}, user=request.user)
    if not form.is_valid():
        return JsonResponse({"error": "the channel is not valid", "fields": form.errors.get_json_data()}, status=400)
    return JsonResponse(form.save().to_dict(), status=201)


@api_login_required
@require_http_methods(["DELETE"])
def api_channel(request, channel_id):
    _own_channel(request, channel_id).delete()
    return JsonResponse({"deleted": channel_id})


@api_login_required
@require_POST
def api_channel_test(request, channel_id):
    sent, detail = _test(_own_channel(request, channel_id))
    return JsonResponse({"sent": sent, "detail": detail})


@api_login_required
@require_GET
def api_feed(request):
    return JsonResponse({"url": _feed_url(request, Reader.of(request.user))})


class NotificationFeed(Feed):
    """A reader's private Atom feed: their newest notifications, at an address only they know."""

    feed_type = Atom1Feed
    title = "batoshelf: your notifications"
    subtitle = "New chapters of the titles you follow."

    def get_object(self, request, token):
        reader = Reader.objects.select_related("user").filter(feed_token=token).first()
        if reader is None or not reader.user.is_active:
            raise Http404("No such feed.")
        return reader

    def link(self, reader):
        return reverse("notifications:list")

    def items(self, reader):
        return Notification.objects.filter(user=reader.user).select_related("title", "chapter")[:FEED_SIZE]

    def item_title(self, notification):
        return notification.message

    def item_description(self, notification):
        return notification.get_kind_display()

    def item_link(self, notification):
        link = notification.chapter_link()
        return link.url if link and link.url else f"{reverse('notifications:list')}#notification-{notification.pk}"

    def item_guid(self, notification):
        return f"batoshelf-notification-{notification.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, notification):
        return notification.created_at

    def item_updateddate(self, notification):
        return notification.created_at
