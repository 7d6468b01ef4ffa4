from django.apps import AppConfig


class LibraryConfig(AppConfig):
    """Bringing a reader's library in from other trackers and files, and taking it out."""

    name = "library"
    verbose_name = "libraries"
