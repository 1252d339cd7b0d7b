"""Tables through azure-data-tables: create, entity types, insert/upsert/merge/update with ETags,
queries with filters and continuation, transactions, and the error codes of conflicts."""
import datetime
import uuid

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import EdmType, EntityProperty, TableServiceClient, TableTransactionError, UpdateMode


def code(error):
    """The error code the server sent (azure-data-tables does not always copy it to error_code)."""
    return error.response.headers.get("x-ms-error-code")


def plain(value):
    return value.value if isinstance(value, EntityProperty) else value


@pytest.fixture
def table(devstore, name):
    return TableServiceClient.from_connection_string(devstore.connection_string).create_table(name)


def test_create_table_conflict(devstore, table):
    with pytest.raises(ResourceExistsError) as error:
        TableServiceClient.from_connection_string(devstore.connection_string).create_table(table.table_name)
    assert error.value.status_code == 409 and code(error.value) == "TableAlreadyExists"


def test_types_round_trip(table):
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)
    ident = uuid.uuid4()
    entity = {
        "PartitionKey": "p", "RowKey": "r'1", "Name": "disk", "Count": 42, "Big": EntityProperty(2**40, EdmType.INT64), "Ratio": 0.5, "Whole": 2.0,
        "Ok": True, "When": when, "Id": ident, "Blob": b"\x00\x01\xff", "Typed": EntityProperty(7, EdmType.INT64),
    }
    metadata = table.create_entity(entity)
    assert metadata["etag"]
    got = table.get_entity("p", "r'1")
    assert got["Name"] == "disk" and got["Count"] == 42 and plain(got["Big"]) == 2**40
    assert got["Ratio"] == 0.5 and got["Whole"] == 2.0 and isinstance(got["Whole"], float)
    assert got["Ok"] is True
    assert plain(got["When"]) == when
    assert plain(got["Id"]) == ident
    assert plain(got["Blob"]) == b"\x00\x01\xff"
    assert plain(got["Typed"]) == 7
    assert got.metadata["etag"] == metadata["etag"]
    assert got.metadata["timestamp"] is not None
    with pytest.raises(ResourceExistsError) as error:
        table.create_entity(entity)
    assert error.value.status_code == 409 and code(error.value) == "EntityAlreadyExists"


def test_update_merge_upsert_with_etags(table):
    table.create_entity({"PartitionKey": "p", "RowKey": "r", "A": 1, "B": "b"})
    etag = table.get_entity("p", "r").metadata["etag"]
    table.update_entity({"PartitionKey": "p", "RowKey": "r", "A": 2}, mode=UpdateMode.MERGE, etag=etag, match_condition=MatchConditions.IfNotModified)
    got = table.get_entity("p", "r")
    assert got["A"] == 2 and got["B"] == "b" and got.metadata["etag"] != etag
    with pytest.raises(ResourceModifiedError) as error:
        table.update_entity({"PartitionKey": "p", "RowKey": "r", "A": 3}, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified)
    assert error.value.status_code == 412 and code(error.value) == "UpdateConditionNotSatisfied"
    table.update_entity({"PartitionKey": "p", "RowKey": "r", "C": 3}, mode=UpdateMode.REPLACE)
    got = table.get_entity("p", "r")
    assert "A" not in got and "B" not in got and got["C"] == 3

    table.upsert_entity({"PartitionKey": "p", "RowKey": "new", "X": 1})
    table.upsert_entity({"PartitionKey": "p", "RowKey": "new", "Y": 2}, mode=UpdateMode.MERGE)
    got = table.get_entity("p", "new")
    assert got["X"] == 1 and got["Y"] == 2
    table.upsert_entity({"PartitionKey": "p", "RowKey": "new", "Z": 3}, mode=UpdateMode.REPLACE)
    assert "X" not in table.get_entity("p", "new")

    with pytest.raises(ResourceNotFoundError):
        table.update_entity({"PartitionKey": "p", "RowKey": "missing", "A": 1}, mode=UpdateMode.MERGE)
    stale = table.get_entity("p", "r").metadata["etag"]
    table.update_entity({"PartitionKey": "p", "RowKey": "r", "C": 4})
    with pytest.raises(ResourceModifiedError) as error:
        table.delete_entity("p", "r", etag=stale, match_condition=MatchConditions.IfNotModified)
    assert code(error.value) == "UpdateConditionNotSatisfied"
    table.delete_entity("p", "r")
    with pytest.raises(ResourceNotFoundError) as error:
        table.get_entity("p", "r")
    assert error.value.status_code == 404


def test_query_filters_and_continuation(table):
    for i in range(25):
        table.create_entity({"PartitionKey": "part", "RowKey": f"seg-{i:04}", "N": i, "Even": i % 2 == 0})
    table.create_entity({"PartitionKey": "other", "RowKey": "seg-0000", "N": 100})

    everything = list(table.query_entities("PartitionKey eq 'part'"))
    assert [e["RowKey"] for e in everything] == [f"seg-{i:04}" for i in range(25)]

    pages = list(table.query_entities("PartitionKey eq 'part'", results_per_page=10).by_page())
    assert [len(list(p)) for p in pages] == [10, 10, 5]

    ranged = table.query_entities(
        "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi", parameters={"pk": "part", "lo": "seg-0005", "hi": "seg-0008"})
    assert [e["N"] for e in ranged] == [5, 6, 7]

    evens = table.query_entities("PartitionKey eq 'part' and Even eq true and N gt 15")
    assert [e["N"] for e in evens] == [16, 18, 20, 22, 24]
    either = table.query_entities("PartitionKey eq 'part' and (N eq 3 or N eq 4) and not (RowKey eq 'seg-0004')")
    assert [e["N"] for e in either] == [3]

    selected = list(table.query_entities("PartitionKey eq 'part' and RowKey eq 'seg-0001'", select=["N"]))
    assert len(selected) == 1 and selected[0]["N"] == 1 and "Even" not in selected[0]
    assert list(table.query_entities("PartitionKey eq 'none'")) == []


def test_transactions(table):
    table.create_entity({"PartitionKey": "b", "RowKey": "existing", "V": 0})
    table.create_entity({"PartitionKey": "b", "RowKey": "gone", "V": 0})
    result = table.submit_transaction([
        ("create", {"PartitionKey": "b", "RowKey": "1", "V": 1}),
        ("upsert", {"PartitionKey": "b", "RowKey": "2", "V": 2}),
        ("update", {"PartitionKey": "b", "RowKey": "existing", "W": 5}, {"mode": "merge"}),
        ("delete", {"PartitionKey": "b", "RowKey": "gone"}),
    ])
    assert len(result) == 4 and all("etag" in r for r in result[:3])
    rows = {e["RowKey"]: e for e in table.query_entities("PartitionKey eq 'b'")}
    assert set(rows) == {"1", "2", "existing"} and rows["existing"]["W"] == 5 and rows["existing"]["V"] == 0

    # All or nothing: the second operation conflicts, so the first is not applied either.
    with pytest.raises(TableTransactionError) as error:
        table.submit_transaction([
            ("create", {"PartitionKey": "b", "RowKey": "3", "V": 3}),
            ("create", {"PartitionKey": "b", "RowKey": "1", "V": 1}),
        ])
    assert error.value.index == 1 and error.value.error_code == "EntityAlreadyExists"
    with pytest.raises(ResourceNotFoundError):
        table.get_entity("b", "3")


def test_missing_table(devstore, name):
    client = TableServiceClient.from_connection_string(devstore.connection_string).get_table_client(name + "x")
    with pytest.raises(ResourceNotFoundError) as error:
        client.create_entity({"PartitionKey": "p", "RowKey": "r"})
    assert error.value.status_code == 404 and code(error.value) == "TableNotFound"


def test_list_query_and_delete_tables(devstore, name):
    service = TableServiceClient.from_connection_string(devstore.connection_string)
    names = [f"{name}{suffix}" for suffix in ("a", "b", "c")]
    for table_name in reversed(names):
        service.create_table(table_name)
    # Every table, page by page (other tests' tables too): ours among them, in order.
    pages = list(service.list_tables(results_per_page=2).by_page())
    assert all(len(list(page)) <= 2 for page in pages)
    listed = [t.name for t in service.list_tables(results_per_page=2)]
    assert [n for n in listed if n.startswith(name)] == names
    between = f"TableName ge '{name}' and TableName lt '{name}z'"
    assert [t.name for t in service.query_tables(between, results_per_page=2)] == names
    assert [t.name for t in service.query_tables("TableName eq @n", parameters={"n": names[1]})] == [names[1]]

    rows = service.get_table_client(names[1])
    rows.create_entity({"PartitionKey": "p", "RowKey": "r"})
    service.delete_table(names[1])
    assert [t.name for t in service.query_tables(between)] == [names[0], names[2]]
    with pytest.raises(ResourceNotFoundError) as error:
        rows.get_entity("p", "r")
    assert code(error.value) == "TableNotFound"
    service.create_table(names[1])
    assert list(rows.query_entities("PartitionKey eq 'p'")) == []
