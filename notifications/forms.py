from django import forms

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
