"""batoshelf's admin site: Django's, with its titles, and with what it takes from query strings checked.

Django's admin fills an add form's fields from the query string
(`/add/?next_run=...`) and renders whatever it is given: a date widget handed
a number crashes the page. And a change list filters by any field the query
string names: a 5,000-digit number for a float field is infinity, which
MariaDB cannot even be asked about. And an empty `?_to_field=` on a change or
delete page is taken for a field named "". Every model admin registered here
(ours, django-q2's, auth's) keeps only the initial values its fields accept,
refuses an infinite number as a filter the way it refuses any bad one, and
reads an empty `_to_field` as none.
"""

import math

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models


def filter_field(model, parameter):
    """The model field a change list's query parameter filters on ("score__gte" → score), or None."""
    parts = parameter.split("__")
    while parts:
        try:
            return get_fields_from_path(model, "__".join(parts))[-1]
        except (FieldDoesNotExist, admin.utils.NotRelationField):
            parts.pop()
    return None


def infinite(value):
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False  # not a number at all: the field's own check says so


class CheckedQueryStrings:
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

    def get_object(self, request, object_id, from_field=None):
        # An empty ?_to_field= reads as "no field", not as a field named "".
        return super().get_object(request, object_id, from_field or None)

    def get_changelist_instance(self, request):
        for name, value in request.GET.items():
            field = filter_field(self.model, name)
            if isinstance(field, (models.FloatField, models.DecimalField)) and infinite(value):
                raise IncorrectLookupParameters(f"{name}={value[:20]}… is not a finite number")
        return super().get_changelist_instance(request)


class BatoshelfAdminSite(admin.AdminSite):
    site_header = "batoshelf"
    site_title = "batoshelf"
    index_title = "Titles, checks and notifications"

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        checked = type(admin_class.__name__, (CheckedQueryStrings, admin_class), {"__module__": admin_class.__module__})
        super().register(model_or_iterable, checked, **options)
