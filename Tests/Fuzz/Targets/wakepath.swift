// libFuzzer target: the wake route's path decoding (WakeTarget.parse).
// Built by scripts/fuzz together with Sources/RecommenderService/WakeTarget.swift against ModelConfig.
import Foundation
import ModelConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWakePath(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let key = WakeTarget.parse(path) else { return 0 }
    precondition(!key.namespace.isEmpty && !key.modelID.isEmpty)
    // What a well-behaved client sends for that key (every byte outside [A-Za-z0-9] encoded)
    // names the same key.
    let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    guard let namespace = key.namespace.addingPercentEncoding(withAllowedCharacters: allowed),
        let model = key.modelID.addingPercentEncoding(withAllowedCharacters: allowed)
    else { return 0 }
    let encoded = "/api/v1/models/\(namespace)/\(model)/wake"
    guard let again = WakeTarget.parse(encoded), again == key else {
        fatalError("\(path) -> \(key) but its encoded form \(encoded) -> \(String(describing: WakeTarget.parse(encoded)))")
    }
    return 0
}
