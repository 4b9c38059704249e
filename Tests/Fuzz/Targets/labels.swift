// libFuzzer target: label value escaping of the exposition (ExpositionWriter.escape) and value
// escaping of logfmt log lines (logfmtEscaped): text from callers must not forge lines.
// Built by scripts/fuzz together with Sources/RecommenderService/{Exposition,LogfmtEscaping}.swift.

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

/// Reverses logfmtEscaped's quoting.
func unquoteLogfmt(_ quoted: String) -> String? {
    var scalars = Array(quoted.unicodeScalars)
    guard scalars.count >= 2, scalars.first == "\"", scalars.last == "\"" else { return nil }
    scalars = Array(scalars.dropFirst().dropLast())
    var out = String.UnicodeScalarView()
    var index = 0
    while index < scalars.count {
        let scalar = scalars[index]
        index += 1
        guard scalar == "\\" else { out.append(scalar); continue }
        guard index < scalars.count else { return nil }
        let next = scalars[index]
        index += 1
        switch next {
        case "\\": out.append("\\")
        case "\"": out.append("\"")
        case "n": out.append("\n")
        case "r": out.append("\r")
        case "t": out.append("\t")
        case "u":
            guard index < scalars.count, scalars[index] == "{", let close = scalars[index...].firstIndex(of: "}"),
                let code = UInt32(String(String.UnicodeScalarView(scalars[(index + 1)..<close])), radix: 16),
                let decoded = Unicode.Scalar(code)
            else { return nil }
            out.append(decoded)
            index = close + 1
        default: return nil
        }
    }
    return String(out)
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

    // logfmt: no control character at all, bare only when nothing needs quoting, and the quoted
    // form reads back to the value.
    let logged = logfmtEscaped(value)
    for scalar in logged.unicodeScalars where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}" {
        fatalError("control character U+\(String(scalar.value, radix: 16)) in logfmt value \(Array(value.utf8))")
    }
    if logged.unicodeScalars.first == "\"", logged != value {  // scalars: `"` may start a grapheme
        guard unquoteLogfmt(logged) == value else { fatalError("logfmt quoting does not round-trip \(Array(value.utf8))") }
    } else {
        precondition(logged == value && !value.isEmpty)
        precondition(!value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" })
    }
    return 0
}
