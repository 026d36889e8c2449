"""Outbound HTTP: httpx's interface on aiohttp's connection pool and parser.

Every provider send, media download, outgoing webhook and LLM call goes through one `httpx.AsyncClient`
per process (`Runtime.http`). With httpx's own transport (httpcore's pool on anyio, h11's parser) a small
JSON POST cost ~1.1 ms of CPU with ten in flight; through this transport it costs ~0.3 ms, and ~0.15 ms
when the client's `request` (and so `get`, `post`...) takes its direct way (decision 0011,
docs/decisions/0011-outbound-http-on-aiohttp.md). Callers keep httpx's requests, responses and
exceptions: aiohttp's errors are raised as the httpx error that means the same, so `except
httpx.TransportError` still means "the network failed, try again later".
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from json import dumps as json_dumps
from typing import Any

import aiohttp
import httpx
from multidict import CIMultiDict

# httpx's defaults: connections open at once, and seconds an idle one is kept.
_MAX_CONNECTIONS = 100
_KEEPALIVE_SECONDS = 5.0
_CHUNK_BYTES = 64 * 1024
# Distinct URLs kept parsed: a process calls a few endpoints over and over (a number's messages URL, a
# subscriber's webhook), and httpx parses a URL in pure Python, about a tenth of a small request's CPU.
_URLS_KEPT = 1024
_ABSOLUTE = ("http://", "https://")
_httpx_logger = logging.getLogger("httpx")

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

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: Any = None,
        json: Any = None,
        headers: Any = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
        **options: Any,
    ) -> httpx.Response:
        """httpx's `request`: the same request on the wire, the same response, read. A plain call (an
        absolute URL, no body or one given as bytes, text or `json`, text headers, no option but a timeout
        or redirect following, and a client without auth, event hooks or a proxy for the URL) goes straight
        to aiohttp: httpx's way (URL merging and parsing, its `Headers`, the auth and redirect generators,
        the streamed read) cost a small POST twice what aiohttp itself did. Its `httpx.Request` is built
        only if asked for; a redirect it follows goes on httpx's way."""
        transport = self._direct_transport(url, content, headers, options)
        if transport is None:
            return await super().request(
                method, url, content=content, json=json, headers=headers, timeout=timeout,
                follow_redirects=follow_redirects, **options,
            )
        call = _DirectCall(
            method, url, self.headers, headers, content, json,  # type: ignore[arg-type]
            self.timeout if timeout is httpx.USE_CLIENT_DEFAULT else httpx.Timeout(timeout),
        )
        response = await transport.read(call)
        if _httpx_logger.isEnabledFor(logging.INFO):
            _httpx_logger.info('HTTP Request: %s %s "%s %d %s"', method, url,
                               response.http_version, response.status_code, response.reason_phrase)
        if not response.has_redirect_location:
            return response
        next_request = self._build_redirect_request(response.request, response)
        if not (self.follow_redirects if follow_redirects is httpx.USE_CLIENT_DEFAULT else follow_redirects):
            response.next_request = next_request
            return response
        return await self._follow(next_request, response)

    async def _follow(self, request: httpx.Request, first: httpx.Response) -> httpx.Response:
        """The rest of a redirected direct call, httpx's way: its loop, its redirect limit counting the first
        hop, the final response read."""
        response = await self._send_handling_redirects(request, follow_redirects=True, history=[first])
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    def _direct_transport(
        self, url: httpx.URL | str, content: Any, headers: Any, options: dict[str, Any]
    ) -> AiohttpTransport | None:
        if not isinstance(url, str) or not url.startswith(_ABSOLUTE) or not isinstance(content, (bytes, str, type(None))):
            return None
        if headers and not (isinstance(headers, httpx.Headers) or _text_only(headers)):
            return None
        if any(value is not None and value is not httpx.USE_CLIENT_DEFAULT for value in options.values()):
            return None
        if self.is_closed or self.auth is not None or any(self.event_hooks.values()):
            return None
        parsed = _parsed(url)[0]
        transport = self._transport_for_url(parsed)  # another one for a proxy or a mount
        return transport if isinstance(transport, AiohttpTransport) and not parsed.userinfo else None

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("Nexa's HTTP client keeps no cookies")


class _DirectCall:
    """A call taking the client's direct way: what aiohttp sends, and the `httpx.Request` httpx would have
    built for it, made when first asked for (an error, `response.request`, `raise_for_status`)."""

    def __init__(
        self, method: str, url: str, client_headers: httpx.Headers, headers: Any, content: bytes | str | None,
        json: Any, timeout: httpx.Timeout,
    ) -> None:
        self.method, self.url, self.timeout = method.upper(), url, timeout
        self._client_headers, self._headers = client_headers, headers
        self.headers = CIMultiDict(client_headers.multi_items())
        if headers:
            self.headers.update(headers.multi_items() if isinstance(headers, httpx.Headers) else headers)
        if content is not None:
            self.body: bytes | None = content.encode() if isinstance(content, str) else content
        elif json is not None:
            # As httpx encodes it.
            self.body = json_dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            self.headers.setdefault("Content-Type", "application/json")
        else:
            self.body = None
        self._request: httpx.Request | None = None

    def request(self) -> httpx.Request:
        if self._request is None:
            headers = httpx.Headers(self._client_headers)
            if self._headers:
                headers.update(self._headers)
            if "content-type" in self.headers:
                headers.setdefault("Content-Type", self.headers["content-type"])
            self._request = httpx.Request(
                self.method, _parsed(self.url)[0], headers=headers, content=self.body,
                extensions={"timeout": self.timeout.as_dict()},
            )
        return self._request


class _DirectResponse(httpx.Response):
    """A response to a direct call: its request is the call's, built when first asked for."""

    _call: _DirectCall

    @property
    def request(self) -> httpx.Request:
        if self._request is None:
            self._request = self._call.request()
        return self._request

    @request.setter
    def request(self, value: httpx.Request) -> None:
        self._request = value

    def raise_for_status(self) -> httpx.Response:
        self._request = self.request  # httpx's own reads the attribute
        return super().raise_for_status()


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request | _DirectCall) -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError:
        raise
    except (TimeoutError, aiohttp.ClientError) as exc:
        kind = next(httpx_error for aiohttp_error, httpx_error in _ERRORS if isinstance(exc, aiohttp_error))
        raise kind(
            str(exc) or type(exc).__name__, request=request.request() if isinstance(request, _DirectCall) else request
        ) from exc


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
        with _as_httpx_errors(request):
            body = await request.aread()
            response = await self._send(
                request.method, str(request.url), request.headers.multi_items(), body or None,
                request.extensions.get("timeout", {}),
            )
        return httpx.Response(
            response.status, headers=response.raw_headers, stream=_ResponseBody(response, request), request=request,
            extensions=_extensions(response),
        )

    async def _send(
        self, method: str, url: str, headers: Any, body: bytes | None, timeout: dict[str, float | None]
    ) -> aiohttp.ClientResponse:
        """One request through the pool; `timeout` is httpx's (`Timeout.as_dict()`)."""
        return await self._open_session().request(
            method, url, headers=headers, data=body, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(
                total=None, connect=timeout.get("pool"), sock_connect=timeout.get("connect"),
                sock_read=timeout.get("read"),
            ),
        )

    async def read(self, call: _DirectCall) -> httpx.Response:
        """The response to a direct call, its body read and decoded as httpx does, its connection back in the
        pool."""
        started = time.perf_counter()
        with _as_httpx_errors(call):
            answer = await self._send(call.method, _parsed(call.url)[1], call.headers, call.body, call.timeout.as_dict())
            try:
                body = await answer.read()
            finally:
                answer.release()
        response = _DirectResponse(
            answer.status, headers=answer.raw_headers, stream=httpx.ByteStream(body), extensions=_extensions(answer)
        )
        response._call = call
        try:
            response.read()  # through httpx's decoders (gzip, br...): this transport leaves bodies as sent
        except httpx.DecodingError as exc:
            exc.request = response.request  # httpx's own read names it; this one is built on demand
            raise
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        return response

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _extensions(response: aiohttp.ClientResponse) -> dict[str, Any]:
    return {"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()}


@functools.lru_cache(maxsize=_URLS_KEPT)
def _parsed(url: str) -> tuple[httpx.URL, str]:
    """The URL as httpx parses it (immutable: one serves every request to it), and as httpx's way would
    have handed it to aiohttp (httpx's normalization and percent-encoding, not yarl's)."""
    parsed = httpx.URL(url)
    return parsed, str(parsed)


def _text_only(headers: Any) -> bool:
    # httpx also takes bytes names and values; those go its way.
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return all(isinstance(name, str) and isinstance(value, str) for name, value in pairs)


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
