from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class ScrapingConfig(AppConfig):
    name = "scraping"
    verbose_name = "Titles and checks"

    def ready(self):
        from django.db.models.signals import post_save

        from scraping.checking.jobs import config_saved
        from scraping.models import JobConfig

        post_save.connect(config_saved, sender=JobConfig, dispatch_uid="batoshelf-job-schedule")


@checks.register(checks.Tags.compatibility, deploy=True)
def contact_url_is_set(app_configs, **kwargs):
    """MangaDex and MangaUpdates ask clients to say who they are; the contact URL is how they reach us."""
    if settings.BATOSHELF_CONTACT_URL:
        return []
    return [
        checks.Warning(
            "BATOSHELF_CONTACT_URL is not set: requests to MangaDex and MangaUpdates say they come from batoshelf "
            "but give no way to reach whoever runs it.",
            hint="Set it to a page or mailto: address of yours, e.g. https://example.org/contact.",
            id="batoshelf.W001",
        )
    ]
