import Foundation
import Testing

@testable import RelayShared

/// Signature vectors computed with the documented algorithm (docs/azure-rest.md, "Shared Key and SAS"): exact
/// strings to sign and signatures.
struct SharedKeySignerTests {
    let signer = SharedKeySigner(
        account: "devstoreaccount1",
        key: [UInt8](Data(base64Encoded: ConnectionString.developmentAccountKey)!))
    let date = ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT")
    let version = ("x-ms-version", "2021-12-02")

    @Test func createContainer() {
        let request = SharedKeySigner.Request(
            method: "PUT", path: "/devstoreaccount1/vhds", query: [("restype", "container")],
            headers: [("Content-Length", "0"), date, version])
        #expect(
            signer.stringToSign(for: request, service: .blobOrQueue)
                == "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2021-12-02\n/devstoreaccount1/devstoreaccount1/vhds\nrestype:container"
        )
        #expect(
            signer.authorization(for: request, service: .blobOrQueue)
                == "SharedKey devstoreaccount1:o6f9XGQXage3PCJjP8ov7bFEfvxs8NCKocPRBYWvAAo=")
    }

    @Test func putPage() {
        let request = SharedKeySigner.Request(
            method: "PUT", path: "/devstoreaccount1/vhds/disk.vhd", query: [("comp", "page")],
            headers: [
                ("Content-Length", "512"), ("x-ms-range", "bytes=0-511"), version, ("x-ms-page-write", "update"), date,
            ])
        #expect(
            signer.stringToSign(for: request, service: .blobOrQueue)
                == "PUT\n\n\n512\n\n\n\n\n\n\n\n\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-page-write:update\nx-ms-range:bytes=0-511\nx-ms-version:2021-12-02\n/devstoreaccount1/devstoreaccount1/vhds/disk.vhd\ncomp:page"
        )
        #expect(
            signer.signature(of: signer.stringToSign(for: request, service: .blobOrQueue))
                == "JM+p+PKGbeD5G+qIlg4u7yCkQptdSPgNWm9p8yerxs0=")
    }

    @Test func pageRangesDiffDecodesTheQuery() {
        let request = SharedKeySigner.Request(
            method: "GET", path: "/devstoreaccount1/vhds/disk.vhd",
            query: [("prevsnapshot", "2024-01-01T00%3A00%3A00.0000000Z"), ("comp", "pagelist")],
            headers: [date, version])
        #expect(
            signer.stringToSign(for: request, service: .blobOrQueue).hasSuffix(
                "/devstoreaccount1/devstoreaccount1/vhds/disk.vhd\ncomp:pagelist\nprevsnapshot:2024-01-01T00:00:00.0000000Z"
            ))
        #expect(
            signer.signature(of: signer.stringToSign(for: request, service: .blobOrQueue))
                == "Iblkbvtxacad0fUWrtb9Ds9QaLTLWyM9JLj8EB3um+A=")
    }

    @Test func putMessage() {
        let request = SharedKeySigner.Request(
            method: "POST", path: "/devstoreaccount1/jobs/messages", query: [("messagettl", "-1")],
            headers: [("Content-Length", "72"), ("Content-Type", "application/xml"), date, version])
        #expect(
            signer.signature(of: signer.stringToSign(for: request, service: .blobOrQueue))
                == "jPV9dBAzK9BOOPcqa1LJTT98/M344ERuo7dXV5RJKmM=")
    }

    @Test func tableSharedKey() {
        let request = SharedKeySigner.Request(
            method: "POST", path: "/devstoreaccount1/Tables", query: [],
            headers: [("Content-Type", "application/json"), date, version])
        #expect(
            signer.stringToSign(for: request, service: .table)
                == "POST\n\napplication/json\nMon, 01 Jan 2024 00:00:00 GMT\n/devstoreaccount1/devstoreaccount1/Tables")
        #expect(
            signer.authorization(for: request, service: .table)
                == "SharedKey devstoreaccount1:y4+YjpWa9p2hSLUPdRNaIBrE0mwOp91eMBmGLPtaGEM=")
    }

    @Test func multipleValuesOfOneParameterAreSortedAndJoined() {
        #expect(
            signer.canonicalizedResource(path: "/c", query: [("b", "2"), ("A", "z"), ("b", "1")])
                == "/devstoreaccount1/c\na:z\nb:1,2")
    }
}

struct ConnectionStringTests {
    @Test func developmentStorageExpands() throws {
        let parsed = try ConnectionString("UseDevelopmentStorage=true")
        #expect(parsed.accountName == "devstoreaccount1")
        #expect(parsed.blobEndpoint?.absoluteString == "http://127.0.0.1:10000/devstoreaccount1")
        #expect(parsed.queueEndpoint?.absoluteString == "http://127.0.0.1:10001/devstoreaccount1")
        #expect(parsed.tableEndpoint?.absoluteString == "http://127.0.0.1:10002/devstoreaccount1")
        guard case .sharedKey(let account, let key) = parsed.credential else {
            Issue.record("expected a shared key")
            return
        }
        #expect(account == "devstoreaccount1")
        #expect(key.count == 64)
    }

    @Test func endpointSuffixSynthesisesVirtualHostEndpoints() throws {
        let parsed = try ConnectionString(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=\(ConnectionString.developmentAccountKey);EndpointSuffix=core.chinacloudapi.cn"
        )
        #expect(parsed.blobEndpoint?.absoluteString == "https://acct.blob.core.chinacloudapi.cn")
        #expect(parsed.tableEndpoint?.absoluteString == "https://acct.table.core.chinacloudapi.cn")
    }

    @Test func sasKeepsTheTokenVerbatimAndNeverPrintsIt() throws {
        let token = "sv=2021-12-02&ss=bqt&sig=abc%2Bdef%3D"
        let parsed = try ConnectionString(
            "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=\(token)")
        #expect(parsed.credential == .sharedAccessSignature(token))
        #expect(parsed.blobEndpoint?.absoluteString == "https://acct.blob.core.windows.net")
        #expect(!parsed.description.contains("sig="))
    }

    @Test(arguments: [
        "AccountName=acct",
        "AccountName=acct;AccountKey=not base64!",
        "SharedAccessSignature=sv=1",
        "AccountName=acct;AccountKey=\(ConnectionString.developmentAccountKey);BlobEndpoint=ftp://x",
        "garbage",
    ])
    func invalidStringsAreRefusedWithoutQuotingSecrets(_ text: String) {
        let error = #expect(throws: ConnectionStringError.self) { try ConnectionString(text) }
        #expect(error?.description.contains(ConnectionString.developmentAccountKey) == false)
    }
}
