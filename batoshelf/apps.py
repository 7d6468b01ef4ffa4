from django.contrib.admin.apps import AdminConfig


class BatoshelfAdminConfig(AdminConfig):
    """Django's admin, with batoshelf's admin site as the default one (`admin.site`)."""

    default_site = "batoshelf.admin_site.BatoshelfAdminSite"
