"""Form fields for API models: choices from an API queryset, keys checked with one request."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model

from . import exceptions


def unavailable(model: type[Model] | None, error: exceptions.JanitorSiteError) -> ValidationError:
    """The form error for a key that could not be checked because the API call failed."""
    request_id = getattr(error, "request_id", None)
    suffix = f" (request id {request_id})" if request_id else ""
    return ValidationError(
        "The Janitor site service could not be asked about this %(model)s; try again%(suffix)s.",
        code="unavailable",
        params={"model": model._meta.verbose_name if model else "object", "suffix": suffix},
    )


class ApiModelChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """``ModelChoiceField`` over an API queryset: a submitted key is looked up with one request
    (an unknown key is Django's "Select a valid choice"); an API failure is a form error, not a
    500."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except exceptions.JanitorSiteError as error:
            model = self.queryset.model if self.queryset is not None else None
            raise unavailable(model, error) from error
