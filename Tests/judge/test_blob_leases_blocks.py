"""Leases, block blobs, listing, metadata and deletion through azure-storage-blob."""
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient


@pytest.fixture
def container(devstore, name):
    client = BlobServiceClient.from_connection_string(devstore.connection_string).get_container_client(name)
    client.create_container()
    return client


def test_container_exists_and_conflict(container):
    assert container.exists()
    with pytest.raises(ResourceExistsError) as error:
        container.create_container()
    assert error.value.status_code == 409 and error.value.error_code == "ContainerAlreadyExists"


def test_lease_lifecycle(container):
    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=4096)
    lease = blob.acquire_lease(lease_duration=15)
    props = blob.get_blob_properties()
    assert props.lease.state == "leased" and props.lease.status == "locked" and props.lease.duration == "fixed"

    with pytest.raises(HttpResponseError) as error:
        blob.upload_page(b"\x01" * 512, offset=0, length=512)
    assert error.value.status_code == 412 and error.value.error_code == "LeaseIdMissing"
    with pytest.raises(HttpResponseError) as error:
        blob.upload_page(b"\x01" * 512, offset=0, length=512, lease="11111111-1111-1111-1111-111111111111")
    assert error.value.status_code == 412 and error.value.error_code == "LeaseIdMismatchWithBlobOperation"
    blob.upload_page(b"\x01" * 512, offset=0, length=512, lease=lease)

    with pytest.raises(HttpResponseError) as error:
        blob.acquire_lease(lease_duration=15, lease_id="22222222-2222-2222-2222-222222222222")
    assert error.value.status_code == 409 and error.value.error_code == "LeaseAlreadyPresent"

    lease.renew()
    new_id = "33333333-3333-3333-3333-333333333333"
    lease.change(new_id)
    assert lease.id == new_id
    blob.upload_page(b"\x02" * 512, offset=512, length=512, lease=new_id)
    lease.release()
    assert blob.get_blob_properties().lease.state == "available"
    with pytest.raises(HttpResponseError) as error:
        blob.upload_page(b"\x01" * 512, offset=0, length=512, lease=new_id)
    assert error.value.status_code == 412 and error.value.error_code == "LeaseNotPresentWithBlobOperation"


def test_lease_break(container):
    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=4096)
    lease = blob.acquire_lease(lease_duration=-1)
    assert blob.get_blob_properties().lease.duration == "infinite"
    assert lease.break_lease(lease_break_period=0) == 0
    assert blob.get_blob_properties().lease.state == "broken"
    with pytest.raises(HttpResponseError) as error:
        lease.renew()
    assert error.value.status_code == 409 and error.value.error_code == "LeaseIsBrokenAndCannotBeRenewed"
    # A broken lease can be acquired anew.
    blob.acquire_lease(lease_duration=20)


def test_block_blob_round_trip_and_conditions(container):
    blob = container.get_blob_client("dir/segment-1")
    data = bytes(range(256)) * 1000
    blob.upload_blob(data, metadata={"seq": "1"})
    assert blob.download_blob().readall() == data
    assert blob.download_blob(offset=1000, length=10).readall() == data[1000:1010]
    props = blob.get_blob_properties()
    assert props.size == len(data) and props.blob_type == "BlockBlob" and props.metadata == {"seq": "1"}
    with pytest.raises(ResourceExistsError) as error:
        blob.upload_blob(b"other", overwrite=False)
    assert error.value.error_code == "BlobAlreadyExists"
    blob.upload_blob(b"other", overwrite=True)
    assert blob.download_blob().readall() == b"other"
    empty = container.get_blob_client("empty")
    empty.upload_blob(b"")
    assert empty.download_blob().readall() == b""


def test_metadata_list_delete(container):
    for index in range(5):
        container.get_blob_client(f"seg/{index:03}").upload_blob(b"x" * index)
    container.get_blob_client("other").upload_blob(b"y")
    names = [b.name for b in container.list_blobs(name_starts_with="seg/")]
    assert names == [f"seg/{i:03}" for i in range(5)]
    pages = list(container.list_blobs(results_per_page=2).by_page())
    assert [len(list(p)) for p in pages] == [2, 2, 2]
    sizes = {b.name: b.size for b in container.list_blobs(name_starts_with="seg/")}
    assert sizes["seg/004"] == 4

    blob = container.get_blob_client("seg/000")
    blob.set_blob_metadata({"a": "1", "b": "two"})
    assert blob.get_blob_properties().metadata == {"a": "1", "b": "two"}
    blob.set_blob_metadata({})
    assert blob.get_blob_properties().metadata == {}

    blob.create_snapshot()
    with pytest.raises(HttpResponseError) as error:
        blob.delete_blob()
    assert error.value.status_code == 409 and error.value.error_code == "SnapshotsPresent"
    blob.delete_blob(delete_snapshots="include")
    with pytest.raises(ResourceNotFoundError) as error:
        blob.download_blob()
    assert error.value.error_code == "BlobNotFound"
    with pytest.raises(ResourceNotFoundError):
        blob.delete_blob()


def test_large_page_blob_download_is_streamed(container):
    # 40 MiB: more than one 4 MiB read chunk and more than the SDK's first 32 MiB range.
    blob = container.get_blob_client("big.vhd")
    size = 40 * 1024 * 1024
    blob.create_page_blob(size=size)
    marks = {0: b"\x11", 9 * 1024 * 1024: b"\x22", size - 4096: b"\x33"}
    for offset, byte in marks.items():
        blob.upload_page(byte * 4096, offset=offset, length=4096)
    data = blob.download_blob(max_concurrency=1).readall()
    assert len(data) == size
    for offset, byte in marks.items():
        assert data[offset:offset + 4096] == byte * 4096
    assert data[4096:9 * 1024 * 1024] == bytes(9 * 1024 * 1024 - 4096)


def test_list_and_delete_containers(devstore, name):
    service = BlobServiceClient.from_connection_string(devstore.connection_string)
    names = [f"{name}-{index}" for index in range(5)]
    for container_name in reversed(names):
        service.create_container(container_name)
    pages = list(service.list_containers(name_starts_with=name, results_per_page=2).by_page())
    listed = [[c.name for c in page] for page in pages]
    assert listed == [names[0:2], names[2:4], names[4:5]]
    first = next(iter(service.list_containers(name_starts_with=names[0])))
    assert first.last_modified and first.etag and first.lease.state == "available"

    # A leased blob does not keep its container: Delete Container takes it along.
    victim = service.get_container_client(names[2])
    blob = victim.get_blob_client("disk.vhd")
    blob.create_page_blob(size=4096)
    blob.acquire_lease(lease_duration=-1)
    service.delete_container(names[2])
    assert not victim.exists()
    assert [c.name for c in service.list_containers(name_starts_with=name)] == names[:2] + names[3:]
    with pytest.raises(ResourceNotFoundError) as error:
        victim.delete_container()
    assert error.value.error_code == "ContainerNotFound"
    with pytest.raises(ResourceNotFoundError):
        blob.get_blob_properties()
    # As in Azure, the name stays taken for a while (2 s here, see conftest) and then is free.
    with pytest.raises(ResourceExistsError) as error:
        service.create_container(names[2])
    assert error.value.status_code == 409 and error.value.error_code == "ContainerBeingDeleted"
    assert not victim.exists()
    deadline = time.monotonic() + 60
    while True:
        try:
            service.create_container(names[2])
            break
        except ResourceExistsError as error:
            assert error.error_code == "ContainerBeingDeleted" and time.monotonic() < deadline
            time.sleep(0.2)
    assert list(victim.list_blobs()) == []
