import Foundation
import ModelConfig
import Testing
@testable import Backtest

struct TraceTests {
    @Test func columnsMayComeInAnyOrderAndLinesInAnyOrder() throws {
        let trace = try Trace.parse("""
            timestamp_s,namespace,model
            30.5,team-a,meta/llama
            10,team-a,meta/llama
            "20",,"qwen, the second"

            """)
        #expect(trace.models == [ModelKey(namespace: "default", modelID: "qwen, the second"), ModelKey(namespace: "team-a", modelID: "meta/llama")])
        #expect(trace.arrivals == [[20], [10, 30.5]])
        #expect(trace.hasNamespaces)
    }

    @Test func aClassColumnNamesEachModelsTrafficClass() throws {
        let trace = try Trace.parse("model,timestamp_s,class\nnightly,5,timer\nchat,1,\nnightly,86405,timer\n")
        #expect(trace.models.map(\.modelID) == ["chat", "nightly"])
        #expect(trace.classes == ["", "timer"])
        #expect(try Trace.parse("model,timestamp_s\nm,1\n").classes == nil)
    }

    @Test func withoutANamespaceColumnEveryModelIsInDefault() throws {
        let trace = try Trace.parse("model,timestamp_s\r\nm,1\r\nm,2e1\r\n")
        #expect(trace.models == [ModelKey(namespace: "default", modelID: "m")])
        #expect(trace.arrivals == [[1, 20]])
        #expect(!trace.hasNamespaces)
    }

    @Test(arguments: [
        ("model,time\nm,1\n", "t.csv:1: header: expected columns model and timestamp_s (and optionally namespace, class), found model,time"),
        ("model,timestamp_s\nm,soon\n", "t.csv:2: timestamp_s: expected seconds from the trace start (a number ≥ 0), found \"soon\""),
        ("model,timestamp_s\nm,-3\n", "t.csv:2: timestamp_s: expected seconds from the trace start (a number ≥ 0), found \"-3\""),
        ("model,timestamp_s\nm,1\nm,2,3\n", "t.csv:3: expected 2 fields as in the header, found 3"),
        ("model,timestamp_s\n,1\n", "t.csv:2: model: expected a model id, found an empty field"),
        ("", "t.csv: empty trace: expected a header line `model,timestamp_s[,namespace][,class]`"),
        ("model,timestamp_s\n\"m,1\n", "t.csv:2: a quoted field is not closed properly"),
        ("model,class,timestamp_s\nm,timer,1\nn,rare,1\nm,rare,2\n", "t.csv:4: class: expected \"timer\" as on line 2 for model m (one class per model), found \"rare\""),
    ])
    func badTracesSayWhereAndWhatWasExpected(text: String, message: String) {
        #expect(throws: TraceError(description: message)) { try Trace.parse(text, file: "t.csv") }
    }

    @Test(arguments: ["trace.csv", "trace.csv.gz"])
    func aWrittenTraceReadsBackTheSame(name: String) throws {
        var generator = FleetGenerator(duration: 86_400, seed: 2)
        generator.counts = [.bursty: 3, .rare: 2]
        let trace = generator.generate()
        let path = NSTemporaryDirectory() + "rr-trace-\(UUID().uuidString)-" + name
        defer { try? FileManager.default.removeItem(atPath: path) }
        try trace.write(path: path)
        let read = try Trace.read(path: path)
        #expect(read.models == trace.models)
        #expect(read.classes == trace.classes)
        #expect(read.classes?.first == "bursty")
        #expect(read.requestCount == trace.requestCount)
        for (a, b) in zip(read.arrivals, trace.arrivals) {
            #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 0.0005 })
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect((bytes.starts(with: [0x1F, 0x8B])) == name.hasSuffix(".gz"))
    }

    @Test func aMissingFileIsNamed() {
        #expect(throws: TraceError.self) { try Trace.read(path: "/nonexistent/trace.csv") }
    }
}
