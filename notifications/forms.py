from django import forms
from django.conf import settings

from scraping.bato.errors import InvalidTitleReference
from scraping.bato.refs import parse_title_reference


class AddTitleForm(forms.Form):
    url = forms.CharField(
        label="Bato title URL or id", max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "https://bato.to/title/110100-some-slug", "size": 50}),
    )

    def clean(self):
        cleaned = super().clean()
        if "url" in cleaned:
            try:
                cleaned["comic_id"] = parse_title_reference(cleaned["url"], settings.BATO_MIRRORS)
            except InvalidTitleReference as error:
                self.add_error("url", str(error))
        return cleaned
