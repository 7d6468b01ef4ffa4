"""A reader's own account: the settings page (channels, feed, time zone, digest), deleting the account,
signing up through an invite, and the invites staff make."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from batoshelf.http import api_login_required, json_body, json_error
from notifications.channel_views import feed_url
from notifications.digest import next_digest_at
from notifications.forms import ChannelForm, ChannelSendsForm
from notifications.models import Channel
from readers.forms import AccountForm, DeleteAccountForm, InviteForm, SignupForm, time_zone_choices
from readers.middleware import remember_time_zone
from readers.models import Invite, Reader


@never_cache  # it shows the feed's secret address
@login_required
def settings_page(request):
    reader = Reader.of(request.user)
    form = ChannelForm(user=request.user)
    account = AccountForm(instance=reader)
    if request.method == "POST" and request.POST.get("form") == "account":
        account = AccountForm(request.POST, instance=reader)
        if account.is_valid():
            account.instance.time_zone_asked = True  # a zone chosen here is not offered another on the next login
            account.save()
            remember_time_zone(request, account.instance.time_zone)
            messages.success(request, "Your settings are saved.")
            return redirect("readers:settings")
    elif request.method == "POST":
        form = ChannelForm(request.POST, user=request.user)
        if form.is_valid():
            channel = form.save()
            messages.success(request, f"Channel {channel.name!r} added. Send it a test to see that it works.")
            return redirect("readers:settings")
    channels = list(Channel.objects.filter(user=request.user).select_related("device"))
    for channel in channels:
        channel.sends_form = ChannelSendsForm(instance=channel, user=request.user)
    context = {
        "form": form,
        "account": account,
        "delete_form": DeleteAccountForm(user=request.user),
        "channels": [c for c in channels if not c.is_device],
        "devices": [c for c in channels if c.is_device],
        "feed_url": feed_url(request, reader),
        "next_digest_at": next_digest_at(reader, timezone.now()),
    }
    return render(request, "readers/settings.html", context, status=400 if form.errors or account.errors else 200)


@login_required
@require_POST
def account_delete(request):
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Your account is still here: that is not your password.")
        return redirect("readers:settings")
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
            return redirect("readers:invites")
    now = timezone.now()
    made = [
        {"invite": invite, "url": request.build_absolute_uri(reverse("readers:signup", args=[invite.token]))}
        for invite in Invite.objects.usable(now).select_related("created_by")
    ]
    used = Invite.objects.filter(used_at__isnull=False).select_related("used_by")[:20]
    return render(request, "readers/invites.html", {"form": form, "invites": made, "used": used})


@staff_member_required
@require_POST
def invite_revoke(request, invite_id):
    Invite.objects.filter(pk=invite_id, used_at__isnull=True).delete()
    messages.success(request, "The invite no longer works.")
    return redirect("readers:invites")


def signup(request, token):
    now = timezone.now()
    invite = Invite.objects.usable(now).filter(token=token).first()
    if invite is None:
        return render(request, "readers/signup.html", {"invite": None}, status=404)
    form = SignupForm()
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                # Taken before the account is made: of two sign-ups on one link, one wins.
                if not Invite.objects.usable(now).filter(pk=invite.pk).update(used_at=now):
                    return render(request, "readers/signup.html", {"invite": None}, status=404)
                user = form.save(commit=False)
                user.email = form.cleaned_data["email"]
                user.is_staff = invite.staff
                user.save()
                Invite.objects.filter(pk=invite.pk).update(used_by=user)
                Reader.objects.create(user=user, time_zone=form.cleaned_data["time_zone"], time_zone_asked=True)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            remember_time_zone(request, form.cleaned_data["time_zone"])
            messages.success(request, f"Welcome, {user.get_username()}. Add the titles you follow here.")
            return redirect("readers:shelf")
    return render(request, "readers/signup.html", {"invite": invite, "form": form}, status=400 if form.errors else 200)


@api_login_required
@require_POST
def api_time_zone(request):
    """`{"time_zone": "Europe/Paris"}` saves the browser's zone as the reader's; `{"keep": true}` keeps
    theirs. Either way the pages do not offer it again."""
    data = json_body(request)
    reader = Reader.of(request.user)
    if data.get("keep") is True:
        Reader.objects.filter(pk=reader.pk).update(time_zone_asked=True)
        remember_time_zone(request, reader.time_zone)
        return JsonResponse({"time_zone": reader.time_zone})
    name = data.get("time_zone")
    if not isinstance(name, str) or (name, name) not in time_zone_choices():
        return json_error(400, "time_zone must be an IANA time zone such as Europe/Paris")
    Reader.objects.filter(pk=reader.pk).update(time_zone=name, time_zone_asked=True)
    remember_time_zone(request, name)
    return JsonResponse({"time_zone": name})
