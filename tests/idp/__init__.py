"""A real, local OpenID Connect identity provider for the tests (django-oauth-toolkit).

Run by :mod:`tests.oidc_support` as a subprocess (``python -m tests.idp.serve``); see
:mod:`tests.idp.serve` for starting it by hand.
"""
