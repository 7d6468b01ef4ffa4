"""batoshelf's admin site: Django's, with its titles, and with query-string initial values checked.

Django's admin fills an add form's fields from the query string
(`/add/?next_run=...`) and renders whatever it is given: a date widget handed
a number crashes the page. Every model admin registered here (ours,
django-q2's, auth's) keeps only the initial values its fields accept.
"""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError


class TypedInitialData:
    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        typed = {}
        for name, value in initial.items():
            try:
                field = self.model._meta.get_field(name)
                typed[name] = value if field.many_to_many else field.to_python(value)
            except (FieldDoesNotExist, ValidationError, ValueError, TypeError, OverflowError):
                continue  # not a field, or not a value it can hold: the form starts empty there
        return typed


class BatoshelfAdminSite(admin.AdminSite):
    site_header = "batoshelf"
    site_title = "batoshelf"
    index_title = "Titles, checks and notifications"

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        checked = type(admin_class.__name__, (TypedInitialData, admin_class), {"__module__": admin_class.__module__})
        super().register(model_or_iterable, checked, **options)
