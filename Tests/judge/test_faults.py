"""Fault injection seen through the SDKs: seeded faults are reproducible, 503/500 answers are Azure
errors the SDKs retry, and duplicate deliveries carry stale pop receipts (404 MessageNotFound)."""
import os

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, LinearRetry
from azure.storage.queue import QueueServiceClient

from conftest import start_devstore, stop_devstore


@pytest.fixture
def faulty():
    stores = []

    def start(*args):
        store = start_devstore(*args)
        stores.append(store)
        return store

    yield start
    for store in stores:
        stop_devstore(store)


def outcomes(store, count):
    """Status of each of `count` page writes sent once (no retries)."""
    service = BlobServiceClient.from_connection_string(store.connection_string, retry_total=0)
    blob = service.get_blob_client("faults", "disk.vhd")
    for attempt in range(50):  # setup may meet injected faults too
        try:
            service.get_container_client("faults").create_container()
            break
        except ResourceExistsError:
            break
        except HttpResponseError as error:
            assert error.status_code in (500, 503)
    for attempt in range(50):
        try:
            blob.create_page_blob(size=count * 512)
            break
        except HttpResponseError as error:
            assert error.status_code in (500, 503)
    result = []
    for index in range(count):
        try:
            blob.upload_page(b"\x01" * 512, offset=index * 512, length=512)
            result.append(201)
        except HttpResponseError as error:
            assert (error.status_code, error.error_code) in ((503, "ServerBusy"), (500, "OperationTimedOut"))
            result.append(error.status_code)
    return result


def test_seeded_faults_reproduce(faulty):
    args = ("--fault-503-rate", "0.3", "--fault-500-rate", "0.2", "--fault-seed", "42")
    first = outcomes(faulty(*args), 40)
    second = outcomes(faulty(*args), 40)
    assert first == second
    assert 503 in first and 500 in first and 201 in first
    other = outcomes(faulty("--fault-503-rate", "0.3", "--fault-500-rate", "0.2", "--fault-seed", "43"), 40)
    assert other != first


def test_sdk_retries_through_faults(faulty):
    store = faulty("--fault-503-rate", "0.3", "--fault-500-rate", "0.1", "--fault-seed", "7")
    # Status retries default to 3; a 30 % fault rate needs more room.
    retry = LinearRetry(backoff=0.02, random_jitter_range=0, retry_total=20, retry_status=20)
    service = BlobServiceClient.from_connection_string(store.connection_string, retry_policy=retry)
    try:
        service.create_container("retried")
    except ResourceExistsError:
        pass  # a retry after a create whose answer was lost (500 after the effect)
    blob = service.get_blob_client("retried", "disk.vhd")
    blob.create_page_blob(size=64 * 4096)
    pages = [os.urandom(4096) for _ in range(64)]
    for index, page in enumerate(pages):
        blob.upload_page(page, offset=index * 4096, length=4096)
    assert blob.download_blob().readall() == b"".join(pages)


def test_duplicate_deliveries(faulty):
    store = faulty("--fault-duplicate-rate", "1", "--fault-seed", "3")
    queue = QueueServiceClient.from_connection_string(store.connection_string).get_queue_client("dups")
    queue.create_queue()
    queue.send_message("once")
    first = queue.receive_message(visibility_timeout=30)
    again = queue.receive_message(visibility_timeout=30)
    assert first.content == again.content == "once" and first.id == again.id
    queue.delete_message(first)
    with pytest.raises(ResourceNotFoundError) as error:
        queue.delete_message(again)
    assert error.value.error_code == "MessageNotFound"


def test_delayed_deliveries(faulty):
    store = faulty("--fault-delay-rate", "1", "--fault-delay-seconds", "2", "--fault-seed", "5")
    queue = QueueServiceClient.from_connection_string(store.connection_string).get_queue_client("late")
    queue.create_queue()
    queue.send_message("late")
    assert queue.receive_message() is None
    import time
    time.sleep(2.5)
    assert queue.receive_message().content == "late"
