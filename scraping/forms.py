from django import forms

from scraping.sources import parse_reference
from scraping.sources.errors import InvalidTitleReference


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


class MoveTitleForm(forms.Form):
    """Staff moving a title and every follower of it to another source (the admin's action)."""

    to = TitleReferenceField(
        label="Move to",
        widget=forms.TextInput(
            attrs={"placeholder": "https://mangadex.org/title/… or mangaupdates:64897697818", "size": 60}
        ),
    )
