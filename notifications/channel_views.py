"""A reader's channels and private feed: the settings page's buttons for them, and their JSON API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from batoshelf.http import api_login_required, json_body, json_error
from notifications import webpush
from notifications.channels import ChannelRefused, add_device, push_to, send
from notifications.forms import ChannelForm, ChannelSendsForm
from notifications.models import Channel, default_channel_kinds
from readers.models import Reader, new_secret_token

TEST_TITLE = "batoshelf: a test"
TEST_BODY = "This channel works: batoshelf's notifications will come here like this."


def feed_url(request, reader):
    return request.build_absolute_uri(reverse("notifications:feed", args=[reader.feed_token]))


def _own_channel(request, channel_id):
    """The user's channel; another reader's is as missing as one that does not exist."""
    return get_object_or_404(Channel, pk=channel_id, user=request.user)


def _test(channel):
    if channel.is_device:
        problem = push_to(channel, {"title": TEST_TITLE, "body": TEST_BODY, "url": reverse("readers:settings")})
    else:
        problem = send(channel.url, TEST_TITLE, TEST_BODY)
    if problem == webpush.GONE:
        channel.delete()
        return False, f"{channel.name} no longer takes alerts (its browser ended them), so it is removed."
    return problem is None, problem or f"A test went to {channel.name!r}."


@login_required
@require_POST
def channel_test(request, channel_id):
    sent, detail = _test(_own_channel(request, channel_id))
    (messages.success if sent else messages.error)(request, detail if sent else f"The test did not go: {detail}")
    return redirect("readers:settings")


@login_required
@require_POST
def channel_toggle(request, channel_id):
    channel = _own_channel(request, channel_id)
    channel.enabled = not channel.enabled
    if channel.enabled:
        channel.failures_in_a_row, channel.disabled_at = 0, None
    channel.save(update_fields=["enabled", "failures_in_a_row", "disabled_at"])
    messages.success(request, f"Channel {channel.name!r} is {'on' if channel.enabled else 'off'}.")
    return redirect("readers:settings")


@login_required
@require_POST
def channel_sends(request, channel_id):
    channel = _own_channel(request, channel_id)
    form = ChannelSendsForm(request.POST, instance=channel, user=request.user)
    if form.is_valid():
        form.save()
        messages.success(request, f"{channel.name!r} sends {', '.join(channel.kind_labels()) or 'nothing'} now.")
    else:
        messages.error(request, f"{channel.name!r} is unchanged: choose kinds and an importance from the lists.")
    return redirect("readers:settings")


@login_required
@require_POST
def channel_delete(request, channel_id):
    channel = _own_channel(request, channel_id)
    channel.delete()
    messages.success(request, f"Channel {channel.name!r} deleted.")
    return redirect("readers:settings")


@login_required
@require_POST
def feed_regenerate(request):
    Reader.objects.filter(user=request.user).update(feed_token=new_secret_token())
    messages.success(request, "Your feed has a new address; the old one no longer works.")
    return redirect("readers:settings")


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


@never_cache
@api_login_required
@require_http_methods(["GET", "POST"])
def api_devices(request):
    """GET: the key a browser subscribes with, and the reader's devices. POST: a browser's push subscription
    (PushSubscription.toJSON()), which becomes (or brings up to date) this device."""
    if request.method == "GET":
        devices = Channel.objects.filter(user=request.user, url__startswith="webpush://").select_related("device")
        return JsonResponse(
            {
                "application_server_key": webpush.application_server_key(),
                "devices": [{**d.to_dict(), "last_used_at": _iso(d.device.last_used_at)} for d in devices],
            }
        )
    try:
        channel = add_device(request.user, json_body(request), request.headers.get("User-Agent", ""))
    except (webpush.SubscriptionRefused, ChannelRefused) as refused:
        return json_error(400, str(refused))
    except IntegrityError:  # the same subscription sent twice at once: the other request made it
        return json_error(409, "this device is being added already; reload the page")
    return JsonResponse(channel.to_dict(), status=201)


def _iso(moment):
    return moment.isoformat() if moment else None


@never_cache  # the feed's address is its secret
@api_login_required
@require_GET
def api_feed(request):
    return JsonResponse({"url": feed_url(request, Reader.of(request.user))})
