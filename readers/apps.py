from django.apps import AppConfig


class ReadersConfig(AppConfig):
    """The reader's side: accounts, the shelf (follows, progress, shelves), search and the title page."""

    name = "readers"
    verbose_name = "readers"
