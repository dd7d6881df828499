"""Differential conformance: every API queryset answers what Django's SQL ORM answers on a replica
of the same rows (``tests/replicas``), or is refused before any request.
"""
