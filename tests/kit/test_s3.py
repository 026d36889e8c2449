"""The S3 client and S3 media store: AWS's published Signature V4 examples, then a real S3 server."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from nexa.config import Settings
from nexa.kit.s3 import S3Client, S3Error, S3Location, presigned_get_url, signed_headers
from nexa.kit.storage import S3MediaStore, media_store
from tests.fixtures.s3_server import S3Bucket

# The example credentials and bucket of
# https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html and sigv4-query-string-auth.html
AWS_EXAMPLE = S3Location(
    bucket="examplebucket", access_key_id="AKIAIOSFODNN7EXAMPLE",
    secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region="us-east-1",
    endpoint_url="https://s3.amazonaws.com",
)
MAY_24_2013 = datetime(2013, 5, 24, tzinfo=timezone.utc)


def _signature(authorization: str) -> str:
    return authorization.rsplit("Signature=", 1)[1]


def test_get_object_signature_matches_the_aws_example() -> None:
    url, headers = signed_headers(AWS_EXAMPLE, "GET", "test.txt", when=MAY_24_2013, extra={"Range": "bytes=0-9"})
    assert url == "https://examplebucket.s3.amazonaws.com/test.txt"
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," in headers["authorization"]
    assert _signature(headers["authorization"]) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"


def test_put_object_signature_hashes_the_body_and_encodes_the_key_like_the_aws_example() -> None:
    url, headers = signed_headers(
        AWS_EXAMPLE, "PUT", "test$file.text", b"Welcome to Amazon S3.", when=MAY_24_2013,
        extra={"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"},
    )
    assert url == "https://examplebucket.s3.amazonaws.com/test%24file.text"
    assert headers["x-amz-content-sha256"] == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    assert _signature(headers["authorization"]) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"


def test_presigned_get_matches_the_aws_example() -> None:
    url = presigned_get_url(AWS_EXAMPLE, "test.txt", 86400, when=MAY_24_2013)
    assert url.startswith("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
    assert url.endswith("&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    with pytest.raises(ValueError):
        presigned_get_url(AWS_EXAMPLE, "test.txt", 8 * 86400)


def test_path_style_and_default_endpoints() -> None:
    minio = S3Location("media", "k", "s", endpoint_url="http://minio:9000/", path_style=True)
    assert minio.object_url("1/2026/a b.jpg") == "http://minio:9000/media/1/2026/a%20b.jpg"
    aws = S3Location("media", "k", "s", region="sa-east-1")
    assert aws.object_url("1/x.pdf") == "https://media.s3.sa-east-1.amazonaws.com/1/x.pdf"


def test_s3_settings_must_be_complete() -> None:
    with pytest.raises(ValueError, match="NEXA_S3_BUCKET, NEXA_S3_SECRET_ACCESS_KEY"):
        Settings(media_store="s3", s3_access_key_id="k")
    settings = Settings(media_store="s3", s3_bucket="b", s3_access_key_id="k", s3_secret_access_key="s", s3_path_style=True)
    store = media_store(settings)
    assert isinstance(store, S3MediaStore)
    assert store.location.path_style and store.location.bucket == "b"


async def test_put_get_delete_against_a_real_s3_server(s3_bucket: S3Bucket) -> None:
    async with httpx.AsyncClient() as http:
        store = S3MediaStore(s3_bucket.location, http=http)
        await store.write("7/2026/11/photo é.jpg", b"\xff\xd8 jpeg")
        assert await store.read("7/2026/11/photo é.jpg") == b"\xff\xd8 jpeg"
        # Another S3 client (botocore's signing) sees the same object under the same key.
        stored = s3_bucket.boto().get_object(Bucket=s3_bucket.location.bucket, Key="7/2026/11/photo é.jpg")
        assert (stored["Body"].read(), stored["ContentType"]) == (b"\xff\xd8 jpeg", "image/jpeg")

        # Served in chunks, with the size known up front, without the whole file in memory.
        big = bytes(range(256)) * 4096  # 1 MiB: several chunks
        await store.write("7/video.mp4", big)
        opened = await store.open("7/video.mp4")
        chunks = [chunk async for chunk in opened.chunks]
        assert (opened.size, b"".join(chunks), len(chunks) > 1) == (len(big), big, True)

        await store.delete("7/2026/11/photo é.jpg")
        with pytest.raises(FileNotFoundError):
            await store.read("7/2026/11/photo é.jpg")
        with pytest.raises(FileNotFoundError):
            await store.open("7/2026/11/photo é.jpg")
        await store.delete("7/2026/11/photo é.jpg")  # deleting nothing is fine, as with local files


async def test_presigned_link_serves_the_object_with_the_asked_headers(s3_bucket: S3Bucket) -> None:
    async with httpx.AsyncClient() as http:
        store = S3MediaStore(s3_bucket.location, redirect=True, http=http)
        await store.write("1/doc.pdf", b"%PDF-1.4")
        link = store.direct_url("1/doc.pdf", "application/pdf", "catálogo.pdf")
        assert link is not None
        fetched = await http.get(link)  # no credentials: the link is the authorization
        assert (fetched.status_code, fetched.content) == (200, b"%PDF-1.4")
        assert fetched.headers["content-type"] == "application/pdf"
        assert fetched.headers["content-disposition"] == "inline; filename*=UTF-8''cat%C3%A1logo.pdf"
        assert S3MediaStore(s3_bucket.location, http=http).direct_url("1/doc.pdf", None, None) is None


async def test_errors_are_s3_errors_not_http_exceptions(s3_bucket: S3Bucket) -> None:
    async with httpx.AsyncClient() as http:
        missing_bucket = S3Client(S3Location(**{**s3_bucket.location.__dict__, "bucket": "no-such-bucket"}), http)
        with pytest.raises(S3Error) as raised:
            await missing_bucket.put("a.txt", b"x")
        assert raised.value.status == 404 and "NoSuchBucket" in str(raised.value)
        unreachable = S3Client(S3Location("b", "k", "s", endpoint_url="http://127.0.0.1:9", path_style=True), http)
        with pytest.raises(S3Error) as raised:
            await unreachable.get("a.txt")
        assert raised.value.status == 0
