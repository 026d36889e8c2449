"""Outbound HTTP: httpx's interface on aiohttp's connection pool and parser.

Every provider send, media download, outgoing webhook and LLM call goes through one `httpx.AsyncClient`
per process (`Runtime.http`). With httpx's own transport (httpcore's pool on anyio, h11's parser) a small
JSON POST cost ~1.1 ms of CPU with ten in flight; through this transport it costs ~0.3 ms (decision 0011,
docs/decisions/0011-outbound-http-on-aiohttp.md). Callers keep httpx's requests, responses and
exceptions: aiohttp's errors are raised as the httpx error that means the same, so `except
httpx.TransportError` still means "the network failed, try again later".
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx

# httpx's defaults: connections open at once, and seconds an idle one is kept.
_MAX_CONNECTIONS = 100
_KEEPALIVE_SECONDS = 5.0
_CHUNK_BYTES = 64 * 1024

# Most specific first: the first class an error is an instance of decides.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientConnectionError, httpx.ReadError),
    (aiohttp.ClientError, httpx.NetworkError),
)


def client(**options: object) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` (same options) whose requests go through `AiohttpTransport` and which keeps no
    cookies: the process shares one client among tenants, and a cookie set on one tenant's call (a webhook
    receiver's session, say) must never go with another's."""
    return _CookielessClient(transport=AiohttpTransport(), **options)  # type: ignore[arg-type]


class _NoCookies(httpx.Cookies):
    """A jar that takes no cookie from a response and gives none to a request."""

    def extract_cookies(self, response: httpx.Response) -> None:
        # httpx's own jar ran http.cookiejar over every response (a seventh of a small POST's CPU here),
        # only for a refusing policy to drop what it found.
        pass

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("Nexa's HTTP client keeps no cookies")


class _CookielessClient(httpx.AsyncClient):
    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("Nexa's HTTP client keeps no cookies")


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError:
        raise
    except (TimeoutError, aiohttp.ClientError) as exc:
        kind = next(httpx_error for aiohttp_error, httpx_error in _ERRORS if isinstance(exc, aiohttp_error))
        raise kind(str(exc) or type(exc).__name__, request=request) from exc


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport sending each request with one aiohttp session, created in the running event loop on
    first use. It neither follows redirects, decompresses nor keeps cookies: the httpx client does all three
    (see `client` for cookies)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=_MAX_CONNECTIONS, keepalive_timeout=_KEEPALIVE_SECONDS, ssl=httpx.create_ssl_context()
            )
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        with _as_httpx_errors(request):
            body = await request.aread()
            response = await self._open_session().request(
                request.method, str(request.url), headers=request.headers.multi_items(), data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=timeout.get("pool"), sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            response.status, headers=response.raw_headers, stream=_ResponseBody(response, request), request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _ResponseBody(httpx.AsyncByteStream):
    """The body as the caller reads it (all at once, or streamed); its connection returns to the pool once
    read or closed."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._response.content.iter_chunked(_CHUNK_BYTES):
                yield chunk

    async def aclose(self) -> None:
        self._response.release()
