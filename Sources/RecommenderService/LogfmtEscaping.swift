/// A logfmt value: bare when it is a plain word, else quoted with `\\`, `\"`, `\n`, `\r`, `\t`
/// and other control characters (`\u{1}`) escaped.
///
/// Works on Unicode scalars, not `Character`s: `\r\n` or `"` followed by a combining accent is one
/// `Character` that equals neither `\n` nor `"`, yet writes a raw line break or quote. Values such
/// as model ids come from callers of the wake API, so a log line must not be forgeable from them.
/// Kept apart from the log handler (no logging types) so that it can be fuzzed on its own.
func logfmtEscaped(_ value: String) -> String {
    func isPlain(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value > 0x20 && scalar.value != 0x7F && scalar != "=" && scalar != "\"" && scalar != "\\"
            && !(0x80...0x9F).contains(scalar.value) && scalar != "\u{2028}" && scalar != "\u{2029}"
    }
    guard value.isEmpty || !value.unicodeScalars.allSatisfy(isPlain) else { return value }
    var out = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case " ", "=": out.unicodeScalars.append(scalar)
        default:
            if isPlain(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
    }
    return out + "\""
}
