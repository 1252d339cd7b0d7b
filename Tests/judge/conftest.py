"""Starts one relay-devstore for the judge run and hands its connection string to the tests.

The binary is $RELAY_DEVSTORE (scripts/judge builds it and sets it). The server picks free ports
(--blob-port 0 ...) and prints one JSON line with them and the connection string first.
"""
import json
import os
import signal
import subprocess
import threading
import uuid

import pytest

DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class DevStore:
    def __init__(self, process, info, stderr_lines):
        self.process = process
        self.info = info
        self.stderr_lines = stderr_lines
        self.connection_string = info["connectionString"]
        self.blob_url = f"http://127.0.0.1:{info['blobPort']}/{DEV_ACCOUNT}"
        self.queue_url = f"http://127.0.0.1:{info['queuePort']}/{DEV_ACCOUNT}"
        self.table_url = f"http://127.0.0.1:{info['tablePort']}/{DEV_ACCOUNT}"


def start_devstore(*extra_args, env=None):
    binary = os.environ.get("RELAY_DEVSTORE")
    if not binary or not os.path.exists(binary):
        raise RuntimeError("set RELAY_DEVSTORE to a built relay-devstore binary (scripts/judge does)")
    process = subprocess.Popen(
        [binary, "--blob-port", "0", "--queue-port", "0", "--table-port", "0", "--log-level", "warning", *extra_args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
    )
    stderr_lines = []
    threading.Thread(target=lambda: stderr_lines.extend(process.stderr), daemon=True).start()
    result = {}

    def read_first_line():
        result["line"] = process.stdout.readline()

    reader = threading.Thread(target=read_first_line, daemon=True)
    reader.start()
    reader.join(timeout=60)
    line = result.get("line", "")
    if not line:
        process.kill()
        raise RuntimeError("relay-devstore printed no JSON line within 60 s; stderr:\n" + "".join(stderr_lines))
    return DevStore(process, json.loads(line), stderr_lines)


def stop_devstore(store):
    store.process.send_signal(signal.SIGTERM)
    try:
        code = store.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        store.process.kill()
        raise AssertionError("relay-devstore did not stop within 20 s of SIGTERM")
    assert code == 0, f"relay-devstore exited with {code}; stderr:\n" + "".join(store.stderr_lines)
    # Logs never print the account key or a signature.
    log = "".join(store.stderr_lines)
    assert DEV_KEY not in log and "sig=" not in log


@pytest.fixture(scope="session")
def devstore():
    # Deleted containers' names are held 2 s instead of Azure's 30, so that the test of the hold is quick.
    store = start_devstore("--deleted-container-hold", "2")
    yield store
    stop_devstore(store)


@pytest.fixture
def name():
    """A fresh lowercase resource name (valid for containers, queues and tables)."""
    return "t" + uuid.uuid4().hex[:20]
