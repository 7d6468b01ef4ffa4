from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth.forms import UserCreationForm

from notifications.channels import ChannelRefused, check_target
from notifications.models import Channel, Invite, Notification, Reader, default_channel_kinds
from scraping.gate.keeper import SourcePaused
from scraping.moving import CannotMove, move_title
from scraping.sources import ACCEPTED, parse_reference
from scraping.sources.errors import InvalidTitleReference, SourceError


class TitleReferenceField(forms.CharField):
    """A title's URL or id on any source; cleans to a scraping.sources.TitleRef."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 1000)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        try:
            return parse_reference(text)
        except InvalidTitleReference as error:
            raise forms.ValidationError(str(error)) from None


class AddTitleForm(forms.Form):
    url = TitleReferenceField(
        label="title URL or id",
        widget=forms.TextInput(attrs={"placeholder": "https://mangadex.org/title/…", "size": 60}),
        help_text=ACCEPTED,
    )


class MoveTitleForm(forms.Form):
    to = TitleReferenceField(
        label="Move to",
        widget=forms.TextInput(
            attrs={"placeholder": "https://mangadex.org/title/… or mangaupdates:64897697818", "size": 60}
        ),
    )

    def move(self, title, by):
        """Move `title` to the title the form names; the MoveResult, or None with the reason on the form."""
        if not self.is_valid():
            return None
        try:
            return move_title(title, self.cleaned_data["to"], by=by)
        except CannotMove as error:
            self.add_error("to", str(error))
        except (SourceError, SourcePaused) as error:
            self.add_error("to", getattr(error, "message", str(error)))
        return None


class ChannelForm(forms.ModelForm):
    """A reader's channel, from the settings page or the JSON API: one set of rules for both."""

    kinds = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple, help_text="Which notifications go out here."
    )

    class Meta:
        model = Channel
        fields = ["name", "url", "kinds", "min_importance"]
        labels = {"url": "Apprise URL", "min_importance": "at least this important"}
        widgets = {"url": forms.TextInput(attrs={"size": 60, "placeholder": "ntfy://ntfy.sh/your-topic"})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["kinds"].choices = [
            (kind.value, kind.label)
            for kind in Notification.Kind
            if kind != Notification.Kind.ALERT or user.is_staff  # staff alerts go to staff only
        ]
        if not self.is_bound and self.instance.pk is None:
            self.initial.setdefault("kinds", default_channel_kinds())

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Channel.objects.filter(user=self.user, name=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"You already have a channel named {name!r}.")
        return name

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        try:
            check_target(url)
        except ChannelRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return url

    def save(self, commit=True):
        self.instance.user = self.user
        return super().save(commit)


@cache
def time_zone_choices():
    """Every IANA zone, read from the system's database once per process, not once per form."""
    return [(name, name) for name in sorted(available_timezones())]


class AccountForm(forms.ModelForm):
    """A reader's own settings: mail address, time zone and the daily digest."""

    email = forms.EmailField(required=False, help_text="For the digest and for setting a new password.")
    time_zone = forms.ChoiceField(choices=time_zone_choices)

    class Meta:
        model = Reader
        fields = ["email", "time_zone", "digest", "digest_hour"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].initial = self.instance.user.email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("digest") and not cleaned.get("email"):
            self.add_error("email", "The digest comes by mail: give an address.")
        return cleaned

    def save(self, commit=True):
        reader = super().save(commit)
        reader.user.email = self.cleaned_data["email"]
        reader.user.save(update_fields=["email"])
        return reader


class DeleteAccountForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, help_text="Your password, to be sure it is you.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("That is not your password.")
        return self.cleaned_data["password"]


class InviteForm(forms.ModelForm):
    days = forms.IntegerField(min_value=1, max_value=90, initial=7, help_text="How long the link works.")

    class Meta:
        model = Invite
        fields = ["note", "staff"]


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="For the digest and for setting a new password.")
    time_zone = forms.ChoiceField(choices=time_zone_choices, initial="UTC")

    class Meta(UserCreationForm.Meta):
        fields = ["username", "email"]
