"""Queues through azure-storage-queue: send, receive with visibility and dequeue counts, update,
delete, counts, and the error codes of stale pop receipts and missing queues."""
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueServiceClient


@pytest.fixture
def queue(devstore, name):
    client = QueueServiceClient.from_connection_string(devstore.connection_string).get_queue_client(name)
    client.create_queue()
    return client


def test_create_existing(queue):
    # Azure answers 204 for an existing queue with the same metadata; the SDK turns that into an error.
    with pytest.raises(ResourceExistsError) as error:
        queue.create_queue()
    assert error.value.error_code == "QueueAlreadyExists"
    assert queue.get_queue_properties().approximate_message_count == 0


def test_send_receive_delete(queue):
    sent = [queue.send_message(f"m{i}") for i in range(3)]
    assert all(s.id and s.pop_receipt and s.inserted_on and s.expires_on and s.next_visible_on for s in sent)
    assert queue.get_queue_properties().approximate_message_count >= 3
    received = list(queue.receive_messages(messages_per_page=32, visibility_timeout=30))
    assert sorted(m.content for m in received) == ["m0", "m1", "m2"]
    assert all(m.dequeue_count == 1 for m in received)
    # Invisible now.
    assert list(queue.receive_messages(visibility_timeout=30)) == []
    for message in received:
        queue.delete_message(message)
    assert queue.get_queue_properties().approximate_message_count == 0


def test_visibility_and_dequeue_count(queue):
    queue.send_message("again")
    first = queue.receive_message(visibility_timeout=1)
    assert first.dequeue_count == 1
    time.sleep(1.5)
    second = queue.receive_message(visibility_timeout=30)
    assert second.id == first.id and second.dequeue_count == 2 and second.pop_receipt != first.pop_receipt
    # The first receipt is stale.
    with pytest.raises(ResourceNotFoundError) as error:
        queue.delete_message(first.id, first.pop_receipt)
    assert error.value.status_code == 404 and error.value.error_code == "MessageNotFound"
    queue.delete_message(second)


def test_delayed_send(queue):
    queue.send_message("later", visibility_timeout=2)
    assert queue.receive_message() is None
    time.sleep(2.5)
    assert queue.receive_message().content == "later"


def test_update_message(queue):
    queue.send_message("old")
    message = queue.receive_message(visibility_timeout=30)
    updated = queue.update_message(message, visibility_timeout=0, content="new")
    assert updated.pop_receipt and updated.pop_receipt != message.pop_receipt
    again = queue.receive_message(visibility_timeout=30)
    assert again.content == "new" and again.dequeue_count == 2
    with pytest.raises(ResourceNotFoundError) as error:
        queue.update_message(message.id, message.pop_receipt, visibility_timeout=0)
    assert error.value.error_code == "MessageNotFound"


def test_missing_queue_and_limits(devstore, queue, name):
    missing = QueueServiceClient.from_connection_string(devstore.connection_string).get_queue_client(name + "x")
    with pytest.raises(ResourceNotFoundError) as error:
        missing.send_message("x")
    assert error.value.error_code == "QueueNotFound"
    with pytest.raises(HttpResponseError) as error:
        queue.receive_messages(messages_per_page=33).next()
    assert error.value.status_code == 400 and error.value.error_code == "OutOfRangeQueryParameterValue"
    # A message of exactly 64 KiB is accepted; one byte more is refused.
    queue.send_message("a" * 65536)
    with pytest.raises(HttpResponseError) as error:
        queue.send_message("a" * 65537)
    assert error.value.status_code in (400, 413)


def test_peek_and_clear(queue):
    for index in range(3):
        queue.send_message(f"p{index}")
    received = queue.receive_message(visibility_timeout=30)
    peeked = queue.peek_messages(max_messages=32)
    # Peek shows the visible messages as they are: no pop receipt, dequeue counts unchanged.
    assert sorted(m.content for m in peeked) == sorted({"p0", "p1", "p2"} - {received.content})
    assert all(m.pop_receipt is None and m.dequeue_count == 0 and m.id and m.inserted_on and m.expires_on for m in peeked)
    assert [m.id for m in queue.peek_messages(max_messages=32)] == [m.id for m in peeked]
    assert len(queue.peek_messages()) == 1
    assert queue.get_queue_properties().approximate_message_count == 3
    queue.clear_messages()
    assert queue.get_queue_properties().approximate_message_count == 0
    assert queue.peek_messages(max_messages=32) == []
    # The received message went too: its pop receipt finds nothing.
    with pytest.raises(ResourceNotFoundError):
        queue.delete_message(received)


def test_list_and_delete_queues(devstore, name):
    service = QueueServiceClient.from_connection_string(devstore.connection_string)
    names = [f"{name}-{index}" for index in range(5)]
    for queue_name in reversed(names):
        service.create_queue(queue_name)
    pages = list(service.list_queues(name_starts_with=name, results_per_page=2, include_metadata=True).by_page())
    listed = [[q.name for q in page] for page in pages]
    assert listed == [names[0:2], names[2:4], names[4:5]]
    service.get_queue_client(names[1]).send_message("gone with the queue")
    service.delete_queue(names[1])
    assert [q.name for q in service.list_queues(name_starts_with=name)] == names[:1] + names[2:]
    with pytest.raises(ResourceNotFoundError) as error:
        service.get_queue_client(names[1]).delete_queue()
    assert error.value.error_code == "QueueNotFound"
    with pytest.raises(ResourceNotFoundError):
        service.get_queue_client(names[1]).send_message("x")
    service.create_queue(names[1])
    assert service.get_queue_client(names[1]).peek_messages() == []
