"""The OIDC claims of the test identity provider."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Adds ``email``, ``preferred_username``, ``name`` and ``groups`` to ID token and userinfo."""

    # DOT only emits a claim whose scope was granted (None never is): ``groups`` comes with
    # ``openid``, so every relying party and the emulator see it.
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "email_verified": "email",
        "groups": "openid",
    }

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "email": user.email,
            "email_verified": True,
            "preferred_username": user.get_username(),
            "name": user.get_full_name(),
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }

    # oauthlib raises NotImplementedError for prompt=none (an RP's silent session refresh).
    # DOT's authorize view requires a logged-in user and answers an anonymous prompt=none with
    # error=login_required before these are called; the client skips the consent page anyway.
    def validate_silent_login(self, request: Any) -> bool:
        return True

    def validate_silent_authorization(self, request: Any) -> bool:
        return True
