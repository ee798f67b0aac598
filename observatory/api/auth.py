"""Bearer tokens: every work-order route needs one of ``settings.api.tokens``."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="One of the tokens in settings api.tokens")


def token_matches(token: str, tokens: list[str]) -> bool:
    """Whether ``token`` is one of ``tokens``, comparing every one in constant time so
    that the answer's timing tells nothing about how much of a token was right."""
    given = token.encode()
    matches = [hmac.compare_digest(given, known.encode()) for known in tokens]
    return any(matches)


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Refuse the request unless it carries a configured bearer token.

    Raises HTTPException 403 when no token is configured at all (the intake is closed),
    401 when the Authorization header is missing, not ``Bearer`` or an unknown token.
    """
    tokens: list[str] = request.app.state.settings.api.tokens
    if not tokens:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this intake accepts no requests: no API tokens are configured "
            "(settings api.tokens, OBSERVATORY_API__TOKENS)",
        )
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not token_matches(credentials.credentials, tokens):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the bearer token is not valid",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


Authorized = Depends(require_token)
