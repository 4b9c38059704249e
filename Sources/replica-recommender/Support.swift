import Foundation

/// Writes a line to standard error, keeping standard output for results.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The process environment.
var environment: [String: String] { ProcessInfo.processInfo.environment }
