"""API keys and the rate limit, as dependencies of the /api and /v1 routers."""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request

from service.deps import get_engine_settings, get_rate_limiter
from rag.config import Settings
from service.throttle import RateLimiter


def client_key(request: Request) -> str:
    """Who is calling: the bearer token when there is one, else the client address."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "key:" + token.strip()
    return "ip:" + (request.client.host if request.client else "unknown")


def require_key(request: Request, settings: Settings = Depends(get_engine_settings)) -> None:
    """When ``RAG_API_KEYS`` is set, demand ``Authorization: Bearer <one of them>`` (constant-time compare)."""
    if not settings.api_keys:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given = token.strip().encode()
    ok = False
    for key in settings.api_keys:  # compare with every key: timing does not reveal which one matched
        ok |= hmac.compare_digest(given, key.get_secret_value().encode())
    if scheme.lower() != "bearer" or not ok:
        raise HTTPException(401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})


def rate_limit(request: Request, limiter: RateLimiter = Depends(get_rate_limiter)) -> None:
    limiter.check(client_key(request))


protected = [Depends(require_key), Depends(rate_limit)]
