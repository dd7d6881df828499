"""Tests of the client side: schemas, client, ORM layer."""

from __future__ import annotations
