"""A small S3 client over httpx: PUT, GET, DELETE of one object and presigned GET links, AWS Signature V4.

Written here rather than taken from boto3/aiobotocore because Nexa needs four calls: boto3 is synchronous
(every call would need a thread) and brings botocore's ~80 MB of service models; aiobotocore pins exact
botocore versions. Signature V4 is a published, stable algorithm
(https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html) and every
S3-compatible service Nexa targets (AWS, MinIO, Cloudflare R2, DigitalOcean Spaces, Backblaze B2) speaks it.
`tests/kit/test_s3.py` checks the signatures against botocore's own signer and talks to a real S3 server.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

import httpx

_ALGORITHM = "AWS4-HMAC-SHA256"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# AWS refuses presigned links valid for more than 7 days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


class S3Error(RuntimeError):
    """The S3 service answered with an error (or not at all); `status` is 0 when no answer came."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class S3Location:
    """Where the bucket is and how to sign for it."""

    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"
    # e.g. "http://127.0.0.1:9000" (MinIO), "https://<account>.r2.cloudflarestorage.com"; None = AWS.
    endpoint_url: str | None = None
    # Path-style (`<endpoint>/<bucket>/<key>`) for MinIO and most self-hosted servers; virtual-hosted
    # (`<bucket>.<endpoint host>/<key>`) is what AWS, Spaces and B2 prefer.
    path_style: bool = False

    def object_url(self, key: str) -> str:
        endpoint = (self.endpoint_url or f"https://s3.{self.region}.amazonaws.com").rstrip("/")
        path = "/" + quote(key, safe="/~")
        if self.path_style:
            return f"{endpoint}/{quote(self.bucket, safe='')}{path}"
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{self.bucket}.{parts.netloc}{parts.path}{path}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    return key


def _canonical_query(params: dict[str, str]) -> str:
    return "&".join(
        f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in sorted(params.items())
    )


def _signature(
    location: S3Location,
    method: str,
    url: httpx.URL,
    params: dict[str, str],
    headers: dict[str, str],
    payload_hash: str,
    when: datetime,
) -> tuple[str, str]:
    """(signed header names, hex signature) for one request; `headers` are lower-case and include host."""
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            url.raw_path.split(b"?")[0].decode(),  # already percent-encoded once by object_url
            _canonical_query(params),
            "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names),
            ";".join(names),
            payload_hash,
        ]
    )
    date = when.strftime("%Y%m%d")
    scope = f"{date}/{location.region}/s3/aws4_request"
    to_sign = "\n".join(
        [_ALGORITHM, when.strftime("%Y%m%dT%H%M%SZ"), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _signing_key(location.secret_access_key, date, location.region)
    return ";".join(names), hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _host(url: httpx.URL) -> str:
    # The Host header as the client sends it: the port only when it is not the scheme's default.
    return url.netloc.decode()


def signed_headers(
    location: S3Location, method: str, key: str, body: bytes = b"", *, when: datetime | None = None,
    extra: dict[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    """The object's URL and the headers that authorize `method` on it (body hashed into the signature)."""
    when = when or datetime.now(timezone.utc)
    url = httpx.URL(location.object_url(key))
    payload_hash = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
    headers = {
        "host": _host(url),
        "x-amz-content-sha256": payload_hash,
        "x-amz-date": when.strftime("%Y%m%dT%H%M%SZ"),
        **{name.lower(): value for name, value in (extra or {}).items()},
    }
    names, signature = _signature(location, method, url, {}, headers, payload_hash, when)
    credential = f"{location.access_key_id}/{when:%Y%m%d}/{location.region}/s3/aws4_request"
    headers["authorization"] = f"{_ALGORITHM} Credential={credential}, SignedHeaders={names}, Signature={signature}"
    del headers["host"]  # httpx sets it from the URL
    return str(url), headers


def presigned_get_url(
    location: S3Location, key: str, expires_in: int, *, response_params: dict[str, str] | None = None,
    when: datetime | None = None,
) -> str:
    """A GET link anyone can use until `expires_in` seconds from now; `response_params` may set
    `response-content-type` / `response-content-disposition`, which S3 then answers with."""
    if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
        raise ValueError(f"presigned links last 1 s to 7 days, not {expires_in} s")
    when = when or datetime.now(timezone.utc)
    url = httpx.URL(location.object_url(key))
    params = {
        **(response_params or {}),
        "X-Amz-Algorithm": _ALGORITHM,
        "X-Amz-Credential": f"{location.access_key_id}/{when:%Y%m%d}/{location.region}/s3/aws4_request",
        "X-Amz-Date": when.strftime("%Y%m%dT%H%M%SZ"),
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": "host",
    }
    _, signature = _signature(location, "GET", url, params, {"host": _host(url)}, "UNSIGNED-PAYLOAD", when)
    return f"{url}?{_canonical_query(params)}&X-Amz-Signature={signature}"


class S3Client:
    """One bucket's objects over a shared httpx client."""

    def __init__(self, location: S3Location, http: httpx.AsyncClient) -> None:
        self.location = location
        self.http = http

    async def _send(
        self, method: str, key: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> httpx.Response:
        url, headers = signed_headers(self.location, method, key, body, extra=extra)
        try:
            return await self.http.request(method, url, content=body or None, headers=headers)
        except httpx.HTTPError as exc:
            raise S3Error(f"S3 {method} {key}: {exc.__class__.__name__}: {exc}") from exc

    @staticmethod
    def _error(response: httpx.Response, what: str) -> S3Error:
        # S3 errors are XML (`<Error><Code>..</Code><Message>..`); the code alone says enough in logs.
        code = response.text.split("<Code>", 1)[-1].split("</Code>", 1)[0] if "<Code>" in response.text else ""
        return S3Error(f"S3 {what}: HTTP {response.status_code} {code}".rstrip(), response.status_code)

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"content-type": content_type} if content_type else None
        response = await self._send("PUT", key, data, extra)
        if response.status_code != 200:
            raise self._error(response, f"PUT {key}")

    async def get(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""
        response = await self.open(key)
        try:
            return await response.aread()
        finally:
            await response.aclose()

    async def open(self, key: str) -> httpx.Response:
        """The object's response with the body still unread (`aiter_bytes`, then `aclose`); FileNotFoundError
        when there is none."""
        url, headers = signed_headers(self.location, "GET", key)
        try:
            response = await self.http.send(self.http.build_request("GET", url, headers=headers), stream=True)
        except httpx.HTTPError as exc:
            raise S3Error(f"S3 GET {key}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code == 200:
            return response
        await response.aread()  # the error document, for _error
        await response.aclose()
        if response.status_code == 404:
            raise FileNotFoundError(key)
        raise self._error(response, f"GET {key}")

    async def delete(self, key: str) -> None:
        """Remove the object; S3 answers 204 whether or not it existed."""
        response = await self._send("DELETE", key)
        if response.status_code not in (200, 204, 404):
            raise self._error(response, f"DELETE {key}")
