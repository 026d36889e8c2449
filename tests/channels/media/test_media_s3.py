"""The same media stories with NEXA_MEDIA_STORE=s3 against a real S3 server: the fetch job, uploads and
serving go through the S3 store with no other change."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from nexa.config import Settings
from nexa.devtools.fake_graph import FakeGraph
from nexa.runtime import Runtime
from tests.channels.media.test_media import (
    CATALOG,
    PHOTO,
    _agent_sends_catalog,
    _customer_sends_media,
    _path,
    _stored_attachment,
)
from tests.channels.outbound.harness import Chat
from tests.fixtures.s3_server import S3Bucket


def _s3_settings(tmp_path: Path, bucket: S3Bucket, *, redirect: bool) -> Settings:
    return Settings(
        env="test", data_dir=tmp_path, log_json=False, secret_key="test-secret-key-" + "x" * 32,
        worker_poll_interval=0.05, media_store="s3", s3_bucket=bucket.location.bucket,
        s3_endpoint_url=bucket.endpoint_url, s3_region=bucket.location.region, s3_path_style=True,
        s3_access_key_id=bucket.location.access_key_id, s3_secret_access_key=bucket.location.secret_access_key,
        s3_redirect=redirect,
    )


@pytest.fixture(params=[False, True], ids=["streamed", "redirect"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, s3_bucket: S3Bucket) -> Settings:
    return _s3_settings(tmp_path, s3_bucket, redirect=request.param)


async def _served(client: httpx.AsyncClient, runtime: Runtime, path: str, **kwargs: object) -> httpx.Response:
    response = await client.get(path, **kwargs)
    if runtime.settings.s3_redirect:
        # Nexa checked the link or session, then hands the browser a short presigned S3 link.
        assert response.status_code == 307, response.text
        assert response.headers["location"].startswith(runtime.settings.s3_endpoint_url)
        async with httpx.AsyncClient() as browser:
            response = await browser.get(response.headers["location"])
    return response


async def test_a_customers_photo_lands_in_the_bucket_and_is_served_to_agents(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, chat: Chat, worker: object,
    s3_bucket: S3Bucket,
) -> None:
    await _customer_sends_media(client, fake_graph, chat, fake_graph.add_media(PHOTO, "image/jpeg"))

    attachment = await _stored_attachment(client, chat)
    [obj] = s3_bucket.boto().list_objects_v2(Bucket=s3_bucket.location.bucket)["Contents"]
    assert obj["Key"].startswith(f"{chat.inbox.member.account.id}/") and obj["Key"].endswith(".jpg")
    assert obj["Size"] == len(PHOTO)
    assert not (runtime.settings.data_dir / "media").exists()  # nothing written locally

    served = await _served(client, runtime, _path(attachment["data_url"]))
    assert (served.status_code, served.content, served.headers["content-type"]) == (200, PHOTO, "image/jpeg")
    member = await _served(client, runtime, f"{chat.inbox.account_url}/attachments/{attachment['id']}/file", headers=chat.headers)
    assert (member.status_code, member.content) == (200, PHOTO)
    assert (await client.get(f"{chat.inbox.account_url}/attachments/{attachment['id']}/file")).status_code == 401


async def test_an_agents_upload_is_stored_in_the_bucket_and_sent_by_link(
    client: httpx.AsyncClient, runtime: Runtime, fake_graph: FakeGraph, chat: Chat, worker: object,
    s3_bucket: S3Bucket,
) -> None:
    _, sent = await _agent_sends_catalog(client, fake_graph, chat)
    fetched = await _served(client, runtime, _path(sent["document"]["link"]))
    assert (fetched.status_code, fetched.content) == (200, CATALOG)
    [obj] = s3_bucket.boto().list_objects_v2(Bucket=s3_bucket.location.bucket)["Contents"]
    assert obj["Key"].endswith(".pdf")
