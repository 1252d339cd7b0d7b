import Foundation
import Testing

@testable import RelayShared

/// Request building: what goes on the wire is what is signed (docs/azure-rest.md, "Shared Key and SAS").
struct AzureRequestTests {
    static let date = Date(timeIntervalSince1970: 1_704_067_200)  // Mon, 01 Jan 2024 00:00:00 GMT
    static let development = try! ConnectionString("UseDevelopmentStorage=true")

    func builder(
        _ service: SharedKeySigner.Service, endpoint: URL? = nil, credential: ConnectionString.Credential? = nil
    ) -> AzureRequestBuilder {
        AzureRequestBuilder(
            endpoint: endpoint ?? Self.development.blobEndpoint!, credential: credential ?? Self.development.credential,
            service: service)
    }

    func header(_ request: HTTPRequest, _ name: String) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    @Test func httpDateIsRFC1123InGMT() {
        #expect(AzureRequestBuilder.httpDate(Self.date) == "Mon, 01 Jan 2024 00:00:00 GMT")
        #expect(AzureDate.parseRFC1123("Mon, 01 Jan 2024 00:00:00 GMT") == Self.date)
    }

    @Test func createContainerMatchesTheReferenceVector() {
        let request = builder(.blobOrQueue).build(
            AzureRequest("PUT", "/vhds", query: [("restype", "container")], safety: .idempotent, subject: "t"),
            date: Self.date)
        #expect(request.url == "http://127.0.0.1:10000/devstoreaccount1/vhds?restype=container")
        #expect(header(request, "x-ms-date") == "Mon, 01 Jan 2024 00:00:00 GMT")
        #expect(header(request, "x-ms-version") == "2021-12-02")
        #expect(
            header(request, "Authorization")
                == "SharedKey devstoreaccount1:o6f9XGQXage3PCJjP8ov7bFEfvxs8NCKocPRBYWvAAo=")
        // Content-Length is left to libcurl (it computes it from the body), never sent twice.
        #expect(header(request, "Content-Length") == nil)
    }

    @Test func putPageSignsTheBodyLength() {
        let request = builder(.blobOrQueue).build(
            AzureRequest(
                "PUT", AzurePath.blob(BlobAddress(container: "vhds", name: "disk.vhd")), query: [("comp", "page")],
                headers: [("x-ms-page-write", "update"), ("x-ms-range", "bytes=0-511")],
                body: [UInt8](repeating: 0, count: 512),
                safety: .unsafe, subject: "t"), date: Self.date)
        #expect(request.url == "http://127.0.0.1:10000/devstoreaccount1/vhds/disk.vhd?comp=page")
        #expect(
            header(request, "Authorization")
                == "SharedKey devstoreaccount1:JM+p+PKGbeD5G+qIlg4u7yCkQptdSPgNWm9p8yerxs0=")
    }

    @Test func queryValuesAreEncodedOnceAndSignedDecoded() {
        let request = builder(.blobOrQueue).build(
            AzureRequest(
                "GET", "/vhds/disk.vhd",
                query: [("comp", "pagelist"), ("prevsnapshot", "2024-01-01T00:00:00.0000000Z")], safety: .idempotent,
                subject: "t"),
            date: Self.date)
        #expect(
            request.url
                == "http://127.0.0.1:10000/devstoreaccount1/vhds/disk.vhd?comp=pagelist&prevsnapshot=2024-01-01T00%3A00%3A00.0000000Z"
        )
        #expect(
            header(request, "Authorization")
                == "SharedKey devstoreaccount1:Iblkbvtxacad0fUWrtb9Ds9QaLTLWyM9JLj8EB3um+A=")
    }

    @Test func putMessageMatchesTheReferenceVector() {
        let body = Array("<QueueMessage><MessageText>aGVsbG8gd29ybGQ=</MessageText></QueueMessage>".utf8)
        let request = builder(.blobOrQueue, endpoint: Self.development.queueEndpoint!).build(
            AzureRequest(
                "POST", "/jobs/messages", query: [("messagettl", "-1")], body: body, contentType: "application/xml",
                safety: .unsafe, subject: "t"),
            date: Self.date)
        #expect(request.url == "http://127.0.0.1:10001/devstoreaccount1/jobs/messages?messagettl=-1")
        #expect(header(request, "Content-Type") == "application/xml")
        #expect(
            header(request, "Authorization")
                == "SharedKey devstoreaccount1:jPV9dBAzK9BOOPcqa1LJTT98/M344ERuo7dXV5RJKmM=")
    }

    @Test func tableRequestsUseTheTableStringToSign() {
        let request = builder(.table, endpoint: Self.development.tableEndpoint!).build(
            AzureRequest(
                "POST", "/Tables", body: Array("{\"TableName\":\"t\"}".utf8), contentType: "application/json",
                safety: .idempotent, subject: "t"),
            date: Self.date)
        #expect(
            header(request, "Authorization")
                == "SharedKey devstoreaccount1:y4+YjpWa9p2hSLUPdRNaIBrE0mwOp91eMBmGLPtaGEM=")
    }

    @Test func sasIsAppendedVerbatimWithoutAuthorization() throws {
        let token = "sv=2021-12-02&ss=bqt&sig=a%2Bb%2Fc%3D"
        let connection = try ConnectionString(
            "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=?\(token)")
        let request = builder(.blobOrQueue, endpoint: connection.blobEndpoint!, credential: connection.credential)
            .build(
                AzureRequest("PUT", "/vhds", query: [("restype", "container")], safety: .idempotent, subject: "t"),
                date: Self.date)
        #expect(request.url == "https://acct.blob.core.windows.net/vhds?restype=container&" + token)
        #expect(header(request, "Authorization") == nil)
        #expect(header(request, "x-ms-version") == "2021-12-02")
    }

    @Test func namesAreEncodedOnce() {
        #expect(AzurePath.blob(BlobAddress(container: "vhds", name: "dir/a b+c%.vhd")) == "/vhds/dir/a%20b%2Bc%25.vhd")
        #expect(
            AzurePath.entity(table: "rows", partitionKey: "O'Brien", rowKey: "a/b")
                == "/rows(PartitionKey='O%27%27Brien',RowKey='a%2Fb')")
    }

    @Test func storageConfigurationPicksFlagThenStoreThenEnvironmentThenDefault() throws {
        let environment = [StorageConfiguration.environmentVariable: "UseDevelopmentStorage=true"]
        let flag = ConnectionString.development(blobPort: 1, queuePort: 2, tablePort: 3)
        #expect(
            try StorageConfiguration.resolve(connectionString: flag, store: "file:/x", environment: environment)
                == .azure(try ConnectionString(flag)))
        #expect(
            try StorageConfiguration.resolve(connectionString: nil, store: "file:/x", environment: environment)
                == .local(path: "/x"))
        #expect(
            try StorageConfiguration.resolve(connectionString: nil, store: nil, environment: environment)
                == .azure(Self.development))
        #expect(
            try StorageConfiguration.resolve(connectionString: nil, store: nil, environment: [:])
                == .local(path: "./relay-store"))
        #expect(throws: ConnectionStringError.self) {
            try StorageConfiguration.resolve(connectionString: nil, store: "/x", environment: [:])
        }
    }
}
