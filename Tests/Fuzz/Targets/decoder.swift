// libFuzzer target: the query-API JSON decoder (PrometheusClient.decode / ResponseDecoder).
// Built by scripts/fuzz together with Sources/PrometheusClient/{ResponseDecoder,PrometheusClient,Transport}.swift.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let status = size > 0 && bytes[0] == UInt8(ascii: "!") ? 503 : 200
    guard let samples = try? PrometheusClient.decode(HTTPResponse(status: status, body: bytes)) else { return 0 }
    // Accepted: it is JSON a standard parser reads too, with as many results as samples.
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
        let top = object as? [String: Any], let dataField = top["data"] as? [String: Any]
    else { fatalError("decoder accepted what JSONSerialization rejects: \(String(decoding: bytes, as: UTF8.self))") }
    if dataField["resultType"] as? String == "vector", let results = dataField["result"] as? [Any] {
        precondition(results.count == samples.count, "vector of \(results.count) results decoded as \(samples.count) samples")
    }
    if dataField["resultType"] as? String == "scalar" { precondition(samples.count == 1) }
    return 0
}
