"""URLconf of the test project: the stock Django admin (served by the browser tests)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
