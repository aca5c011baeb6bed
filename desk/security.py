"""Response headers and the checks every POST passes: same Origin, and the session's CSRF token."""

import hmac
from urllib.parse import urlsplit

from aiohttp import web

# No inline script or style, nothing from another host; libsodium compiles its WebAssembly
# ('wasm-unsafe-eval' allows that and nothing else: no eval of JavaScript).
CSP = ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob: data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


def add_headers(headers, static: bool = False) -> None:
    """Set the security headers (static files may be cached)."""
    for name, value in HEADERS.items():
        if static and name == "Cache-Control":
            headers[name] = "public, max-age=3600"
            continue
        headers[name] = value


def expected_origin(request: web.Request, base_url: str | None) -> str:
    """The origin POSTs must come from: BINHYEN_WEB_URL's, else the address asked for."""
    if base_url:
        parts = urlsplit(base_url)
        return f"{parts.scheme}://{parts.netloc}"
    return f"{request.scheme}://{request.host}"


def same_origin(request: web.Request, base_url: str | None) -> bool:
    """Whether the POST comes from our own pages: its Origin header names our origin.

    Under Referrer-Policy: no-referrer a browser sends a form's Origin as "null" (Fetch,
    "serialize a request origin"); it is then taken only with Sec-Fetch-Site: same-origin,
    which the browser sets itself and no page can forge. A missing Origin is refused."""
    origin = request.headers.get("Origin")
    if origin == "null":
        return request.headers.get("Sec-Fetch-Site") == "same-origin"
    return origin is not None and hmac.compare_digest(origin, expected_origin(request, base_url))


async def csrf_given(request: web.Request) -> str:
    """The CSRF token a POST carries: the X-CSRF-Token header (htmx) or the form field."""
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return given or ""


def same_token(given: str, expected: str) -> bool:
    """Constant-time comparison of two tokens."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
