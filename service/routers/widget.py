"""The embeddable chat widget (``GET /widget.js``) and a demo host page (``GET /``), both open.

``/widget.js`` is cacheable: an ``ETag`` of its content (304 on ``If-None-Match``) and an hour's
``max-age``; ``/widget.js?v=<version>`` (what the demo page uses) is cached for a year as immutable.
"""

from __future__ import annotations

import hashlib
import html
from functools import cache, lru_cache
from importlib import resources

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from rag import __version__
from service.deps import get_engine
from service.engine import Engine

router = APIRouter(tags=["widget"], include_in_schema=False)

#: The demo page loads only what it serves itself; the widget's own <style> needs 'unsafe-inline'.
DEMO_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
)


@cache
def _asset(name: str) -> str:
    return resources.files("service.widget").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def widget_script() -> tuple[str, str]:
    """The widget's source with its version stamped in, and that version (package + content hash)."""
    source = _asset("widget.js")
    version = f"{__version__}-{hashlib.sha256(source.encode()).hexdigest()[:10]}"
    return source.replace("__VERSION__", version), version


@router.api_route("/widget.js", methods=["GET", "HEAD"])
def widget(request: Request, v: str | None = None) -> Response:
    body, version = widget_script()
    etag = f'"{version}"'
    cache = "public, max-age=31536000, immutable" if v == version else "public, max-age=3600"
    headers = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/javascript; charset=utf-8", headers=headers)


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def demo(request: Request, engine: Engine = Depends(get_engine)) -> HTMLResponse:
    """A plain host page that embeds the widget exactly as another site would."""
    documents = engine.documents()
    items = "".join(
        "<li>{}</li>".format(html.escape(" · ".join(str(d[k]) for k in ("region", "year", "title") if d.get(k))))
        for d in documents
    )
    page = (
        _asset("demo.html")
        .replace("{{ORIGIN}}", html.escape(str(request.base_url).rstrip("/")))
        .replace("{{VERSION}}", widget_script()[1])
        .replace("{{REPORTS}}", str(len(documents)))
        .replace("{{DOCUMENTS}}", items)
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": DEMO_CSP, "X-Content-Type-Options": "nosniff"})
