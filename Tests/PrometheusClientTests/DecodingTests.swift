import Synchronization
import Testing
@testable import PrometheusClient

struct DecodingTests {
    func decode(_ status: Int, _ body: String) throws(PrometheusError) -> [Sample] {
        try PrometheusClient.decode(HTTPResponse(status: status, body: Array(body.utf8)))
    }

    @Test func vectorSamplesKeepLabelsAndValues() throws {
        let samples = try decode(200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"a","model_name":"m"},"value":[1700000000.1,"42"]},{"metric":{},"value":[1700000000.1,"0.5"]}]}}"#)
        #expect(samples == [Sample(labels: ["namespace": "a", "model_name": "m"], value: 42), Sample(labels: [:], value: 0.5)])
    }

    @Test func emptyVectorIsNoSamples() throws {
        #expect(try decode(200, #"{"status":"success","data":{"resultType":"vector","result":[]}}"#).isEmpty)
    }

    @Test(arguments: [("NaN", true), ("+Inf", false), ("-Inf", false)])
    func specialValuesAreKeptForTheCallerToTreatAsUnknown(text: String, isNaN: Bool) throws {
        let value = try decode(200, #"{"status":"success","data":{"resultType":"scalar","result":[1,"\#(text)"]}}"#)[0].value
        #expect(value.isNaN == isNaN)
        #expect(!value.isFinite)
    }

    @Test func apiErrorBodyBecomesATypedError() {
        #expect {
            try decode(400, #"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#)
        } throws: { error in
            let error = error as! PrometheusError
            return error.description == "Prometheus bad_data error (HTTP 400): parse error at char 5" && !error.isRetryable
        }
    }

    @Test func serverErrorWithoutJSONIsRetryable() {
        #expect {
            try decode(503, "Service Unavailable")
        } throws: { error in
            let error = error as! PrometheusError
            return error.httpStatus == 503 && error.isRetryable
        }
    }

    @Test func matrixResultIsRejectedByType() {
        #expect {
            try decode(200, #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]]}]}}"#)
        } throws: { error in
            "\(error)" == "expected an instant vector or scalar, got a matrix"
        }
    }

    /// Found by fuzzing (scripts/fuzz decoder, checked against JSONSerialization): the decoder
    /// accepted bodies that are not JSON. A corrupted body must be an error (the signal is unknown),
    /// never an answer with fewer series than Prometheus sent.
    @Test(arguments: [
        ("a bare word as a skipped value", #"{"status":"success","x":*m","data":{"resultType":"vector","result":[]}}"#),
        ("an empty skipped value", #"{"status":"success","x":,"data":{"resultType":"vector","result":[]}}"#),
        ("trailing garbage", #"{"status":"success","data":{"resultType":"vector","result":[]}}xyz"#),
        ("a second document", #"{"status":"success","data":{"resultType":"vector","result":[]}}{}"#),
        ("an unknown escape", #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\q"},"value":[1,"1"]}]}}"#),
        ("a raw control character", "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":\"x\u{01}\"},\"value\":[1,\"1\"]}]}}"),
        ("a signed hex escape", #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\u+041"},"value":[1,"1"]}]}}"#),
        ("a lone high surrogate", #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"\ud800ace":"a"},"value":[1,"1"]}]}}"#),
        ("a lone low surrogate", #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\udc00"},"value":[1,"1"]}]}}"#),
        ("a timestamp beyond a Double's range (found by the fuzzer)", #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"a","model_name":"m"},"value":[1700000000.11e30823,"4"]}]}}"#),
        ("a skipped number beyond a Double's range", #"{"status":"success","x":-1e400,"data":{"resultType":"vector","result":[]}}"#),
        ("a leading-zero number", #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[01,"1"]}]}}"#),
        ("a bad literal", #"{"status":"success","partial":tru,"data":{"resultType":"vector","result":[]}}"#),
        ("a scalar shaped as an empty vector", #"{"status":"success","data":{"resultType":"scalar","result":[]}}"#),
        ("a vector shaped as a scalar", #"{"status":"success","data":{"resultType":"vector","result":[1,"2"]}}"#),
    ])
    func malformedJSONIsAnErrorNeverFewerSeries(_ name: String, body: String) {
        #expect(throws: PrometheusError.self, "\(name)") { try decode(200, body) }
    }

    @Test func anEscapedBackslashBeforeULettersIsText() throws {
        let body = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\\u+041\\ud800"},"value":[1,"1"]}]}}"#
        #expect(try decode(200, body).first?.labels["a"] == #"\u+041\ud800"#)
    }

    @Test func invalidUTF8InALabelIsAnError() {
        var body = Array(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"n"#.utf8)
        body += [0xDC, 0xDC]
        body += Array(#"":"a"},"value":[1,"1"]}]}}"#.utf8)
        #expect(throws: PrometheusError.self) { try PrometheusClient.decode(HTTPResponse(status: 200, body: body)) }
    }

    @Test(arguments: [
        #"{"status":"success","warnings":["PromQL warning: w"],"infos":[],"x":[true,false,null,-0.5e+3,0,12.25,{"a":[]}],"data":{"resultType":"vector","result":[]}}"#,
        #"{"status":"success","data":{"result":[],"resultType":"vector"}}"#,
    ])
    func everyJSONValueIsSkippedWhereUnused(body: String) throws {
        #expect(try decode(200, body).isEmpty)
    }

    @Test func labelEscapesAreDecoded() throws {
        let body = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"model_name":"a\"b\\c\/d\u00e9\ud83d\ude00\n"},"value":[1,"3"]}]}}"#
        #expect(try decode(200, body).first?.labels["model_name"] == "a\"b\\c/dé😀\n")
    }

    @Test func unknownFieldsPromQLAnnotationsAndPrettyPrintingAreSkipped() throws {
        let body = """
            {
              "status" : "success",
              "warnings": ["PromQL warning: encountered a mix of histograms and floats", {"nested": [1, 2.5e3, true, null]}],
              "isPartial": false,
              "data" : {
                "resultType" : "vector",
                "result" : [ { "metric" : { "namespace" : "a" }, "value" : [ 1.7e9, "1.5" ], "histogram": null } ],
                "analysis": {}
              },
              "infos": []
            }
            """
        #expect(try decode(200, body) == [Sample(labels: ["namespace": "a"], value: 1.5)])
    }

    /// Partial answers are unknown, never "no series" (spec §4): VictoriaMetrics cluster's
    /// `isPartial`, Thanos' partial-response and store warnings.
    @Test(arguments: [
        #"{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[]}}"#,
        #"{"status":"success","warnings":["No StoreAPIs matched for this query"],"data":{"resultType":"vector","result":[]}}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["receive series from Addr: 10.0.0.1:10901: rpc error: code = Unavailable"]}"#,
    ])
    func partialAnswersAreErrorsNotEmptyResults(_ body: String) {
        #expect(throws: PrometheusError.self) { try decode(200, body) }
        do { _ = try decode(200, body) } catch { #expect(error.isPartial) }
    }

    @Test func aPromQLInfoAnnotationIsNotPartial() throws {
        let body = #"{"status":"success","data":{"resultType":"vector","result":[]},"infos":["x"],"warnings":["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"vllm:num_requests_running\""]}"#
        #expect(try decode(200, body) == [])
    }

    @Test(arguments: [
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}"#,
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}"#,
        #"{"status":"success","data":{"resultType":"vector"}}"#,
        "not json",
    ])
    func truncatedOrIncompleteResponsesAreDecodingErrors(body: String) {
        #expect(throws: PrometheusError.self) { try decode(200, body) }
    }
}

/// A transport that answers from a script: the seam the client is built on.
final class ScriptedTransport: PrometheusTransport {
    let replies: Mutex<[Result<HTTPResponse, TransportError>]>
    let calls = Mutex(0)

    init(_ replies: [Result<HTTPResponse, TransportError>]) { self.replies = Mutex(replies) }

    func post(path: String, form: [(String, String)]) async throws(TransportError) -> HTTPResponse {
        calls.withLock { $0 += 1 }
        return try replies.withLock { $0.removeFirst() }.get()
    }
}

struct RetryTests {
    static let ok = HTTPResponse(status: 200, body: Array(#"{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}"#.utf8))

    @Test func transientFailuresAreRetriedWithinTheBound() async throws {
        let transport = ScriptedTransport([.failure(TransportError("refused")), .success(HTTPResponse(status: 502, body: [])), .success(Self.ok)])
        let client = PrometheusClient(transport: transport, retry: RetryPolicy(attempts: 3, initialBackoff: .milliseconds(1)))
        #expect(try await client.query("x").first?.value == 7)
        #expect(transport.calls.withLock { $0 } == 3)
    }

    @Test func retriesStopAtTheBound() async {
        let transport = ScriptedTransport(Array(repeating: .failure(TransportError("refused")), count: 5))
        let client = PrometheusClient(transport: transport, retry: RetryPolicy(attempts: 2, initialBackoff: .milliseconds(1)))
        await #expect(throws: PrometheusError.self) { try await client.query("x") }
        #expect(transport.calls.withLock { $0 } == 2)
    }

    @Test func badQueryIsNotRetried() async {
        let bad = HTTPResponse(status: 400, body: Array(#"{"status":"error","errorType":"bad_data","error":"x"}"#.utf8))
        let transport = ScriptedTransport([.success(bad), .success(Self.ok)])
        let client = PrometheusClient(transport: transport, retry: RetryPolicy(attempts: 3, initialBackoff: .milliseconds(1)))
        await #expect(throws: PrometheusError.self) { try await client.query("x") }
        #expect(transport.calls.withLock { $0 } == 1)
    }
}
