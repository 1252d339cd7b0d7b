"""Page blobs through azure-storage-blob: create, upload_page, clear_page, page ranges (also against
a snapshot), snapshots, sequence numbers and their conditions, resize, and their error codes."""
import os

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, SequenceNumberAction

MiB = 1024 * 1024


@pytest.fixture
def container(devstore, name):
    service = BlobServiceClient.from_connection_string(devstore.connection_string)
    client = service.get_container_client(name)
    client.create_container()
    return client


def ranges(pairs):
    return [{"start": s, "end": e} for s, e in pairs]


def test_create_page_blob_properties(container):
    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=MiB + 512, sequence_number=3, metadata={"kind": "disk"})
    props = blob.get_blob_properties()
    assert props.size == MiB + 512
    assert props.blob_type == "PageBlob"
    assert props.page_blob_sequence_number == 3
    assert props.metadata == {"kind": "disk"}
    assert props.etag and props.last_modified and props.creation_time
    assert props.lease.state == "available" and props.lease.status == "unlocked"
    # A new page blob reads as zeros and has no page ranges.
    assert blob.download_blob().readall() == bytes(MiB + 512)
    page_ranges, clear_ranges = blob.get_page_ranges()
    assert page_ranges == [] and clear_ranges == []


def test_upload_clear_and_ranges(container):
    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=64 * 1024)
    first, second = os.urandom(4096), os.urandom(1024)
    result = blob.upload_page(first, offset=0, length=4096)
    assert result["etag"] and result["blob_sequence_number"] == 0
    blob.upload_page(second, offset=8192, length=1024, validate_content=True)
    assert blob.download_blob(offset=0, length=4096).readall() == first
    assert blob.download_blob(offset=8192, length=1024).readall() == second
    page_ranges, _ = blob.get_page_ranges()
    assert page_ranges == ranges([(0, 4095), (8192, 9215)])

    blob.clear_page(offset=1024, length=1024)
    page_ranges, _ = blob.get_page_ranges()
    assert page_ranges == ranges([(0, 1023), (2048, 4095), (8192, 9215)])
    data = blob.download_blob().readall()
    assert data[:1024] == first[:1024]
    assert data[1024:2048] == bytes(1024)
    assert data[2048:4096] == first[2048:]
    # Within a range only.
    page_ranges, _ = blob.get_page_ranges(offset=2048, length=8192)
    assert page_ranges == ranges([(2048, 4095), (8192, 9215)])


def test_list_page_ranges_pages(container):
    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=64 * 1024)
    for offset in range(0, 10 * 2048, 2048):
        blob.upload_page(b"\x01" * 512, offset=offset, length=512)
    pages = list(blob.list_page_ranges(results_per_page=3).by_page())
    assert [len(list(page)) for page in pages] == [3, 3, 3, 1]
    starts = [r.start for r in blob.list_page_ranges()]
    assert starts == list(range(0, 10 * 2048, 2048))


def test_snapshot_and_diff(container):
    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=16 * 1024)
    original = os.urandom(8192)
    blob.upload_page(original, offset=0, length=8192)
    snapshot = blob.create_snapshot()
    assert snapshot["snapshot"]

    blob.upload_page(b"\x02" * 512, offset=8192, length=512)
    blob.clear_page(offset=0, length=1024)
    page_ranges, clear_ranges = blob.get_page_ranges(previous_snapshot_diff=snapshot)
    assert page_ranges == ranges([(8192, 8703)])
    assert clear_ranges == ranges([(0, 1023)])
    diff = list(blob.list_page_ranges(previous_snapshot=snapshot["snapshot"]))
    assert [(r.start, r.end, r.cleared) for r in diff] == [(0, 1023, True), (8192, 8703, False)]

    # The snapshot keeps the old bytes and its own page ranges.
    old = container.get_blob_client("disk.vhd", snapshot=snapshot["snapshot"])
    assert old.download_blob().readall()[:8192] == original
    page_ranges, _ = old.get_page_ranges()
    assert page_ranges == ranges([(0, 8191)])


def test_sequence_numbers_and_conditions(container):
    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=4096)
    assert blob.set_sequence_number(SequenceNumberAction.Update, 7)["blob_sequence_number"] == 7
    assert blob.set_sequence_number(SequenceNumberAction.Max, 5)["blob_sequence_number"] == 7
    assert blob.set_sequence_number(SequenceNumberAction.Increment)["blob_sequence_number"] == 8

    blob.upload_page(b"\x01" * 512, offset=0, length=512, if_sequence_number_eq=8)
    blob.upload_page(b"\x01" * 512, offset=0, length=512, if_sequence_number_lte=8)
    for condition in ({"if_sequence_number_lt": 8}, {"if_sequence_number_lte": 7}, {"if_sequence_number_eq": 9}):
        with pytest.raises(HttpResponseError) as error:
            blob.upload_page(b"\x01" * 512, offset=512, length=512, **condition)
        assert error.value.status_code == 412
        assert error.value.error_code == "SequenceNumberConditionNotMet"
    with pytest.raises(HttpResponseError) as error:
        blob.clear_page(offset=0, length=512, if_sequence_number_lt=1)
    assert error.value.error_code == "SequenceNumberConditionNotMet"
    # Nothing was written by the refused requests.
    assert blob.download_blob(offset=512, length=512).readall() == bytes(512)


def test_etag_conditions(container):
    blob = container.get_blob_client("disk.vhd")
    etag = blob.create_page_blob(size=4096)["etag"]
    new_etag = blob.upload_page(b"\x01" * 512, offset=0, length=512, etag=etag, match_condition=MatchConditions.IfNotModified)["etag"]
    assert new_etag != etag
    with pytest.raises(ResourceModifiedError) as error:
        blob.upload_page(b"\x01" * 512, offset=0, length=512, etag=etag, match_condition=MatchConditions.IfNotModified)
    assert error.value.status_code == 412 and error.value.error_code == "ConditionNotMet"


def test_resize(container):
    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=8192)
    blob.upload_page(b"\x03" * 512, offset=7680, length=512)
    blob.resize_blob(16384)
    assert blob.get_blob_properties().size == 16384
    blob.resize_blob(4096)
    assert blob.get_blob_properties().size == 4096
    page_ranges, _ = blob.get_page_ranges()
    assert page_ranges == []


def test_page_errors(devstore, container):
    missing = container.get_blob_client("missing.vhd")
    with pytest.raises(ResourceNotFoundError) as error:
        missing.upload_page(b"\x01" * 512, offset=0, length=512)
    assert error.value.error_code == "BlobNotFound"
    with pytest.raises(ResourceNotFoundError) as error:
        missing.get_blob_properties()
    assert error.value.error_code == "BlobNotFound"

    block = container.get_blob_client("block")
    block.upload_blob(b"x" * 512)
    with pytest.raises(HttpResponseError) as error:
        block.upload_page(b"\x01" * 512, offset=0, length=512)
    assert error.value.status_code == 409 and error.value.error_code == "InvalidBlobType"

    blob = container.get_blob_client("disk.vhd")
    blob.create_page_blob(size=4096)
    with pytest.raises(HttpResponseError) as error:
        blob.upload_page(b"\x01" * 512, offset=4096, length=512)
    assert error.value.status_code == 416 and error.value.error_code == "InvalidPageRange"

    with pytest.raises(ResourceNotFoundError) as error:
        service = BlobServiceClient.from_connection_string(devstore.connection_string)
        service.get_blob_client("nocontainer0", "x").create_page_blob(size=512)
    assert error.value.error_code == "ContainerNotFound"
