"""Authentication: Shared Key with a wrong key, SAS tokens (account and service) valid, expired,
tampered and short of permissions. Every failure is 403 with Azure's code."""
import base64
import datetime

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient, TableSasPermissions, TableServiceClient, generate_table_sas
from azure.storage.blob import (
    AccountSasPermissions, BlobClient, BlobSasPermissions, BlobServiceClient, ResourceTypes, generate_account_sas, generate_blob_sas,
)
from azure.storage.queue import QueueClient, QueueSasPermissions, QueueServiceClient, generate_queue_sas

from conftest import DEV_ACCOUNT, DEV_KEY

WRONG_KEY = base64.b64encode(b"not the key" * 6).decode()


def hour(delta):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=delta)


def test_wrong_key_is_refused_everywhere(devstore, name):
    wrong = devstore.connection_string.replace(DEV_KEY, WRONG_KEY)
    with pytest.raises(ClientAuthenticationError) as error:
        BlobServiceClient.from_connection_string(wrong).create_container(name)
    assert error.value.status_code == 403 and error.value.error_code == "AuthenticationFailed"
    with pytest.raises(ClientAuthenticationError) as error:
        QueueServiceClient.from_connection_string(wrong).create_queue(name)
    assert error.value.error_code == "AuthenticationFailed"
    with pytest.raises(ClientAuthenticationError) as error:
        TableServiceClient.from_connection_string(wrong).create_table(name)
    assert error.value.error_code == "AuthenticationFailed"
    # Nothing was created by the refused requests.
    assert not BlobServiceClient.from_connection_string(devstore.connection_string).get_container_client(name).exists()


def test_account_sas(devstore, name):
    service = BlobServiceClient.from_connection_string(devstore.connection_string)
    service.create_container(name)
    service.get_blob_client(name, "b").upload_blob(b"hello")
    read_only = generate_account_sas(
        DEV_ACCOUNT, DEV_KEY, resource_types=ResourceTypes(object=True, container=True),
        permission=AccountSasPermissions(read=True, list=True), expiry=hour(1))
    blob = BlobClient(devstore.blob_url, name, "b", credential=read_only)
    assert blob.download_blob().readall() == b"hello"
    with pytest.raises(HttpResponseError) as error:
        blob.upload_blob(b"x", overwrite=True)
    assert error.value.status_code == 403 and error.value.error_code == "AuthorizationPermissionMismatch"

    expired = generate_account_sas(
        DEV_ACCOUNT, DEV_KEY, resource_types=ResourceTypes(object=True), permission=AccountSasPermissions(read=True),
        expiry=hour(-1), start=hour(-2))
    with pytest.raises(ClientAuthenticationError) as error:
        BlobClient(devstore.blob_url, name, "b", credential=expired).download_blob()
    assert error.value.status_code == 403 and error.value.error_code == "AuthenticationFailed"

    # Widening the permissions breaks the signature.
    tampered = read_only.replace("sp=rl", "sp=rwl")
    assert tampered != read_only
    with pytest.raises(ClientAuthenticationError) as error:
        BlobClient(devstore.blob_url, name, "b", credential=tampered).upload_blob(b"x", overwrite=True)
    assert error.value.error_code == "AuthenticationFailed"
    assert BlobClient(devstore.blob_url, name, "b", credential=read_only).download_blob().readall() == b"hello"


def test_blob_service_sas(devstore, name):
    service = BlobServiceClient.from_connection_string(devstore.connection_string)
    service.create_container(name)
    service.get_blob_client(name, "disk.vhd").create_page_blob(size=4096)
    write = generate_blob_sas(DEV_ACCOUNT, name, "disk.vhd", account_key=DEV_KEY, permission=BlobSasPermissions(read=True, write=True), expiry=hour(1))
    blob = BlobClient(devstore.blob_url, name, "disk.vhd", credential=write)
    blob.upload_page(b"\x05" * 512, offset=0, length=512)
    assert blob.download_blob(offset=0, length=512).readall() == b"\x05" * 512
    # A SAS for one blob does not open another.
    other = BlobClient(devstore.blob_url, name, "other", credential=write)
    with pytest.raises(ClientAuthenticationError) as error:
        other.upload_blob(b"x")
    assert error.value.error_code == "AuthenticationFailed"
    wrong_key = generate_blob_sas(DEV_ACCOUNT, name, "disk.vhd", account_key=WRONG_KEY, permission=BlobSasPermissions(read=True), expiry=hour(1))
    with pytest.raises(ClientAuthenticationError):
        BlobClient(devstore.blob_url, name, "disk.vhd", credential=wrong_key).get_blob_properties()


def test_queue_and_table_sas(devstore, name):
    QueueServiceClient.from_connection_string(devstore.connection_string).create_queue(name)
    sas = generate_queue_sas(DEV_ACCOUNT, name, DEV_KEY, permission=QueueSasPermissions(add=True, process=True), expiry=hour(1))
    queue = QueueClient(devstore.queue_url, name, credential=sas)
    queue.send_message("via sas")
    message = queue.receive_message()
    assert message.content == "via sas"
    queue.delete_message(message)

    TableServiceClient.from_connection_string(devstore.connection_string).create_table(name)
    sas = generate_table_sas(TableServiceClient.from_connection_string(devstore.connection_string).credential, name,
                             permission=TableSasPermissions(add=True, read=True), expiry=hour(1))
    from azure.core.credentials import AzureSasCredential
    table = TableClient(devstore.table_url, name, credential=AzureSasCredential(sas))
    table.create_entity({"PartitionKey": "p", "RowKey": "r", "V": 1})
    assert table.get_entity("p", "r")["V"] == 1
    with pytest.raises(HttpResponseError) as error:
        table.delete_entity("p", "r")
    assert error.value.status_code == 403
    # Inside a transaction each operation needs its own permission too.
    from azure.data.tables import TableTransactionError
    table.submit_transaction([("create", {"PartitionKey": "p", "RowKey": "r2"})])
    with pytest.raises((TableTransactionError, HttpResponseError)) as error:
        table.submit_transaction([("create", {"PartitionKey": "p", "RowKey": "r3"}), ("delete", {"PartitionKey": "p", "RowKey": "r"})])
    assert error.value.status_code == 403
    assert table.get_entity("p", "r")["V"] == 1
    with pytest.raises(ResourceNotFoundError):
        table.get_entity("p", "r3")


def test_service_sas_cannot_create_containers_queues_or_tables(devstore, name):
    # Azure grants creating them only to an account SAS, whatever letters a service SAS carries.
    from azure.core.credentials import AzureSasCredential
    from azure.storage.blob import ContainerClient, ContainerSasPermissions, generate_container_sas
    every = ContainerSasPermissions(read=True, add=True, create=True, write=True, delete=True, list=True)
    container_sas = generate_container_sas(DEV_ACCOUNT, name, account_key=DEV_KEY, permission=every, expiry=hour(1))
    with pytest.raises(HttpResponseError) as error:
        ContainerClient(devstore.blob_url, name, credential=container_sas).create_container()
    assert error.value.status_code == 403 and error.value.error_code == "AuthorizationPermissionMismatch"
    queue_sas = generate_queue_sas(DEV_ACCOUNT, name, DEV_KEY, permission=QueueSasPermissions(read=True, add=True, update=True, process=True), expiry=hour(1))
    with pytest.raises(HttpResponseError) as error:
        QueueClient(devstore.queue_url, name, credential=queue_sas).create_queue()
    assert error.value.status_code == 403 and error.value.error_code == "AuthorizationPermissionMismatch"
    key = TableServiceClient.from_connection_string(devstore.connection_string).credential
    table_sas = generate_table_sas(key, name, permission=TableSasPermissions(read=True, add=True, update=True, delete=True), expiry=hour(1))
    with pytest.raises(HttpResponseError) as error:
        TableClient(devstore.table_url, name, credential=AzureSasCredential(table_sas)).create_table()
    assert error.value.status_code == 403
    # Nothing was created; an account SAS with 'c' creates.
    assert not BlobServiceClient.from_connection_string(devstore.connection_string).get_container_client(name).exists()
    assert name not in [q.name for q in QueueServiceClient.from_connection_string(devstore.connection_string).list_queues()]
    assert name not in [t.name for t in TableServiceClient.from_connection_string(devstore.connection_string).list_tables()]
    account_sas = generate_account_sas(
        DEV_ACCOUNT, DEV_KEY, resource_types=ResourceTypes(container=True), permission=AccountSasPermissions(create=True), expiry=hour(1))
    ContainerClient(devstore.blob_url, name, credential=account_sas).create_container()
    assert BlobServiceClient.from_connection_string(devstore.connection_string).get_container_client(name).exists()


def test_extra_account():
    from conftest import start_devstore, stop_devstore
    key = base64.b64encode(bytes(range(64))).decode()
    # Keys go in the environment, not the command line, where any process listing would show them.
    store = start_devstore(env={"RELAY_DEVSTORE_ACCOUNTS": f"relaytest2:{key}"})
    try:
        def connection(account, account_key):
            return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={account_key};"
                    f"BlobEndpoint=http://127.0.0.1:{store.info['blobPort']}/{account};"
                    f"QueueEndpoint=http://127.0.0.1:{store.info['queuePort']}/{account};")
        BlobServiceClient.from_connection_string(connection("relaytest2", key)).create_container("own")
        QueueServiceClient.from_connection_string(connection("relaytest2", key)).create_queue("own")
        # The account's data is its own: the development account has no such container.
        assert not BlobServiceClient.from_connection_string(store.connection_string).get_container_client("own").exists()
        with pytest.raises(ClientAuthenticationError) as error:
            BlobServiceClient.from_connection_string(connection("relaytest2", DEV_KEY)).create_container("other")
        assert error.value.error_code == "AuthenticationFailed"
        with pytest.raises(ClientAuthenticationError):
            BlobServiceClient.from_connection_string(connection("nosuchaccount", key)).create_container("other")
        log = "".join(store.stderr_lines)
        assert key not in log
    finally:
        stop_devstore(store)
