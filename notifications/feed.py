"""A reader's private Atom feed: their newest notifications, at an address only they know."""

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from notifications.models import Notification
from readers.models import Reader

FEED_SIZE = 50


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
        return Notification.objects.filter(user=reader.user).for_rows()[:FEED_SIZE]

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
