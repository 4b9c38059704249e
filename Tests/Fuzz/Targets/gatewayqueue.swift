// libFuzzer target: the endpoint picker's /metrics page as the gateway poller scans it
// (GatewayQueueScanner), whole and cut in two at a point the input chooses.
// Built by scripts/fuzz from Sources/RecommenderService/GatewayQueueScanner.swift alone.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGatewayQueue(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    let (whole, _) = GatewayQueueScanner.scan(body)
    for (key, value) in whole {
        precondition(value.isFinite && value >= 0, "\(key): \(value)")
        precondition(!key.name.isEmpty && key.namespace?.isEmpty != true, "\(key)")
    }
    let cut = size == 0 ? 0 : Int(body[0]) % (size + 1)
    var scanner = GatewayQueueScanner()
    scanner.feed(Array(body[..<cut]))
    scanner.feed(Array(body[cut...]))
    let pieces = scanner.finish()
    // Cutting the body where a read returns must not change what it says (NaN-free: values are finite).
    guard pieces == whole else { fatalError("cut at \(cut): \(pieces) != \(whole)") }
    return 0
}
