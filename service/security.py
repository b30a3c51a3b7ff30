"""API keys and rate limits, as dependencies of the /api and /v1 routers.

Who is calling is a *valid* API key, else the client's address: a made-up bearer token opens no
bucket of its own. Failed authentications are limited per address too (``auth_failure_limit``), so
keys cannot be guessed at speed. Behind a reverse proxy listed in ``trusted_proxies`` the address
is the right-most one in ``X-Forwarded-For`` that is not a trusted proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from functools import lru_cache

from fastapi import Depends, HTTPException, Request
from pydantic import SecretStr

from rag.core.config import Settings
from service.deps import get_auth_limiter, get_engine_settings, get_rate_limiter
from service.throttle import RateLimiter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part, strict=False) for part in spec)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request: Request, settings: Settings) -> str:
    """The caller's address; through trusted proxies, the first untrusted hop of X-Forwarded-For."""
    peer = request.client.host if request.client else "unknown"
    proxies = _networks(tuple(settings.trusted_proxies))
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def matches_any(token: str | None, keys: list[SecretStr]) -> bool:
    """``token`` is one of ``keys``, compared with every key in constant time (timing does not reveal
    which key matched, or how far)."""
    if token is None:
        return False
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(token.encode(), key.get_secret_value().encode())
    return ok


def valid_key(token: str | None, settings: Settings) -> bool:
    """``token`` is one of ``RAG_API_KEYS`` or an admin key (``RAG_ADMIN_KEYS``: an admin may also ask)."""
    return matches_any(token, [*settings.api_keys, *settings.admin_keys])


def client_key(request: Request, settings: Settings) -> str:
    """The rate-limit bucket: a valid key (hashed: keys stay out of memory dumps of the limiter), else the address."""
    token = bearer_token(request)
    if settings.api_keys and valid_key(token, settings):
        return "key:" + hashlib.sha256((token or "").encode()).hexdigest()[:16]
    return "ip:" + client_address(request, settings)


def require_key(
    request: Request,
    settings: Settings = Depends(get_engine_settings),
    failures: RateLimiter = Depends(get_auth_limiter),
) -> None:
    """When ``RAG_API_KEYS`` is set, demand ``Authorization: Bearer <one of them>``; 429 for an
    address that failed too often."""
    if not settings.api_keys or valid_key(bearer_token(request), settings):
        return
    failures.check("ip:" + client_address(request, settings), what="failed authentications")
    raise HTTPException(401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})


def require_admin_key(
    request: Request,
    settings: Settings = Depends(get_engine_settings),
    failures: RateLimiter = Depends(get_auth_limiter),
) -> None:
    """``Authorization: Bearer <one of RAG_ADMIN_KEYS>`` for the admin routes (the question log): 401
    without a known key, 403 for an API key that is no admin key, 403 for everyone while no admin key
    is configured (the admin routes are off)."""
    from service.errors import ApiError

    if not settings.admin_keys:
        raise ApiError(403, "the admin routes are disabled on this service (no RAG_ADMIN_KEYS)")
    token = bearer_token(request)
    if matches_any(token, settings.admin_keys):
        return
    if valid_key(token, settings):
        raise ApiError(403, "this API key may read and ask but not administer; use an admin key")
    failures.check("ip:" + client_address(request, settings), what="failed authentications")
    raise ApiError(401, "missing or invalid admin key", headers={"WWW-Authenticate": "Bearer"})


def rate_limit(
    request: Request,
    settings: Settings = Depends(get_engine_settings),
    limiter: RateLimiter = Depends(get_rate_limiter),
) -> None:
    limiter.check(client_key(request, settings))


protected = [Depends(require_key), Depends(rate_limit)]
