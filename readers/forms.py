from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from readers.models import Invite, Reader, Status
from readers.names import confusable_with


@cache
def time_zone_choices():
    """Every IANA zone, read from the system's database once per process, not once per form."""
    # Without the database's aliases that name no place: "Factory" (a placeholder) and "localtime" (this machine's).
    return [(name, name) for name in sorted(available_timezones() - {"Factory", "localtime"})]


WHERE_CHOICES = [("none", "New to it"), ("caught_up", "Caught up"), ("at", "At chapter…")]


class AddTitleForm(forms.Form):
    """A title to add, and where the reader is in it: asked, never assumed."""

    title = forms.CharField(max_length=1000, widget=forms.HiddenInput)
    where = forms.ChoiceField(choices=WHERE_CHOICES, widget=forms.RadioSelect, label="Where are you?")
    number = forms.CharField(
        required=False,
        max_length=40,  # longer than any chapter number, so one too long is refused as a number, in words
        label="chapter",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
    )

    def __init__(self, data=None, **kwargs):
        if data is not None and not data.get("where") and data.get("number", "").strip():
            data = data.copy()
            data["where"] = "at"  # a chapter typed says where the reader is, ticked or not
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("where") == "at" and not cleaned.get("number"):
            self.add_error("number", "Give the chapter you are at.")
        return cleaned

    def progress(self):
        """What readers.shelf.add takes: "none", "caught_up" or the number."""
        where = self.cleaned_data["where"]
        return self.cleaned_data["number"] if where == "at" else where


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)


class AccountForm(forms.ModelForm):
    """A reader's own settings: mail address, time zone and the daily digest."""

    email = forms.EmailField(required=False, help_text="For the digest and for setting a new password.")
    time_zone = forms.ChoiceField(choices=time_zone_choices, help_text="Times on these pages are shown in it.")

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
    def clean_username(self):
        name = super().clean_username()
        if not name:  # Django's own check found it taken, and said so
            return name
        taken = confusable_with(name, get_user_model().objects.values_list("username", flat=True))
        if taken:
            raise forms.ValidationError(f"That name looks the same as {taken!r}, someone else's: choose another.")
        return name

    email = forms.EmailField(required=False, help_text="For the digest and for setting a new password.")
    time_zone = forms.ChoiceField(
        choices=time_zone_choices, initial="UTC", help_text="Your browser's is filled in when it says one."
    )

    class Meta(UserCreationForm.Meta):
        fields = ["username", "email"]
