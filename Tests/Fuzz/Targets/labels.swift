// libFuzzer target: label value escaping of the exposition (ExpositionWriter.escape).
// Built by scripts/fuzz together with Sources/RecommenderService/Exposition.swift.

/// Reverses the exposition format's label escaping, byte by byte (text format 0.0.4).
func unescape(_ escaped: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    var index = 0
    while index < escaped.count {
        let byte = escaped[index]
        index += 1
        guard byte == UInt8(ascii: "\\") else { out.append(byte); continue }
        guard index < escaped.count else { return nil }
        switch escaped[index] {
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
        case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
        default: return nil
        }
        index += 1
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLabels(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let value = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let escaped = Array(ExpositionWriter.escape(value).utf8)
    // Inside the quotes of a label value: no raw newline, no unescaped double quote.
    var backslashes = 0
    for byte in escaped {
        if byte == UInt8(ascii: "\n") { fatalError("raw newline in escaped label value \(Array(value.utf8))") }
        if byte == UInt8(ascii: "\""), backslashes % 2 == 0 { fatalError("unescaped quote in escaped label value \(Array(value.utf8))") }
        backslashes = byte == UInt8(ascii: "\\") ? backslashes + 1 : 0
    }
    if backslashes % 2 == 1 { fatalError("escaped label value ends in a lone backslash \(Array(value.utf8))") }
    // And it reads back to the value.
    guard unescape(escaped) == Array(value.utf8) else { fatalError("escaping does not round-trip \(Array(value.utf8))") }
    // A whole series line stays one line.
    let line = ExpositionWriter.labels(["namespace": value, "model_name": value])
    precondition(!line.utf8.contains(UInt8(ascii: "\n")))
    return 0
}
