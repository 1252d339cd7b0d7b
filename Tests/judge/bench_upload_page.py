"""Put Page benchmark through the official Python SDK against relay-devstore over loopback.

Two ways, each with 1, 4 and 16 requests in flight: upload_page calls of 4 MiB from a thread pool,
and upload_blob(blob_type=PageBlob, max_concurrency=N), the SDK's own chunked, concurrent upload
(4 MiB Put Page requests). Prints one line per run: MB/s (10^6 bytes per second).
Usage: RELAY_DEVSTORE=... python bench_upload_page.py [TOTAL_MIB]   (default 256)
"""
import concurrent.futures
import os
import sys
import time
import uuid

from azure.storage.blob import BlobServiceClient

from conftest import start_devstore, stop_devstore

PAGE = 4 * 1024 * 1024


def main():
    total_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    total = total_mib * 1024 * 1024
    store = start_devstore()
    try:
        service = BlobServiceClient.from_connection_string(store.connection_string, max_page_size=PAGE)
        container = service.get_container_client("bench" + uuid.uuid4().hex[:8])
        container.create_container()
        data = os.urandom(PAGE)
        print(f"Put Page of 4 MiB, {total_mib} MiB per run, Python SDK over loopback")
        for inflight in (1, 4, 16):
            blob = container.get_blob_client(f"pages-{inflight}.vhd")
            blob.create_page_blob(size=total)
            offsets = range(0, total, PAGE)
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(max_workers=inflight) as pool:
                list(pool.map(lambda offset: blob.upload_page(data, offset=offset, length=PAGE), offsets))
            elapsed = time.perf_counter() - start
            assert blob.download_blob(offset=total - PAGE, length=PAGE).readall() == data
            print(f"upload_page threads={inflight:2}: {total / elapsed / 1e6:8.1f} MB/s ({elapsed:.2f} s)")
        payload = data * (total // PAGE)
        for concurrency in (1, 4, 16):
            blob = container.get_blob_client(f"blob-{concurrency}.vhd")
            start = time.perf_counter()
            blob.upload_blob(payload, blob_type="PageBlob", max_concurrency=concurrency, overwrite=True)
            elapsed = time.perf_counter() - start
            assert blob.get_blob_properties().size == total
            print(f"upload_blob(PageBlob) max_concurrency={concurrency:2}: {total / elapsed / 1e6:8.1f} MB/s ({elapsed:.2f} s)")
    finally:
        stop_devstore(store)


if __name__ == "__main__":
    main()
