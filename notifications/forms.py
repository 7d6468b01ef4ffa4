from django import forms

from notifications.channels import MAX_CHANNELS, ChannelRefused, check_target
from notifications.models import Channel, Notification, default_channel_kinds


def kind_choices(user):
    """The kinds of notification a reader's channel may send: staff alerts go to staff only."""
    return [(kind.value, kind.label) for kind in Notification.Kind if kind != Notification.Kind.ALERT or user.is_staff]


class ChannelSendsForm(forms.ModelForm):
    """What a channel or device sends, changed after it was added."""

    kinds = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = Channel
        fields = ["kinds", "min_importance"]
        labels = {"min_importance": "at least this important"}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = kind_choices(user)
        self.auto_id = f"id_sends_{self.instance.pk}_%s"


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
        self.fields["kinds"].choices = kind_choices(user)
        if not self.is_bound and self.instance.pk is None:
            self.initial.setdefault("kinds", default_channel_kinds())

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and Channel.objects.filter(user=self.user).count() >= MAX_CHANNELS:
            raise forms.ValidationError(f"You have {MAX_CHANNELS} channels, the most a reader may have.")
        return cleaned

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
