#!/bin/sh
# Local page blob writes (4 MiB Put Page) against `dd bs=4M` of the same random bytes to the same file
# system, in one run, release build. Usage: bench/storage-blob.sh [MiB]   (default 512)
# TMPDIR chooses the file system (default /tmp).
set -eu
cd "$(dirname "$0")/.."
scratch=.build-storage-release
swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path "$scratch"
RELAY_BLOB_BENCH=1 RELAY_BLOB_BENCH_MIB="${1:-512}" \
    swift test -c release -Xswiftc -enable-testing --skip-build --scratch-path "$scratch" \
    --filter BlobBenchmarkTests 2>&1 | grep -E 'blob-bench|passed|failed|issue'
