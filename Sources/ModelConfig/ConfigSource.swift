import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Yams

/// One key of a ConfigMap with its raw text and where it was read from.
public struct RawEntry: Sendable, Hashable {
    /// The ConfigMap key.
    public let key: String
    /// The key's value: a YAML document.
    public let text: String
    /// File and first line, for messages.
    public let location: EntryLocation

    /// Creates a raw entry.
    public init(key: String, text: String, location: EntryLocation) {
        self.key = key
        self.text = text
        self.location = location
    }
}

/// Reads the keys of a model ConfigMap from disk.
///
/// `path` may be a ConfigMap volume (a directory, one file per key; dotfiles and the `..data`
/// links the kubelet creates are skipped), a YAML file holding the `data:` map (with or without the
/// `data:` key), or a whole ConfigMap manifest (the first `kind: ConfigMap` document of the file).
public enum ConfigSource {
    /// Reads every key at `path`, sorted by key.
    public static func read(path: String) throws(ConfigSourceError) -> [RawEntry] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigSourceError(path: path, reason: "no such file or directory")
        }
        return isDirectory.boolValue ? try readDirectory(path) : try readFile(path)
    }

    /// A fingerprint of what `read(path:)` would return, cheap enough to poll: the volume's
    /// `..data` link target (swapped atomically by the kubelet) and, per file, inode, size and
    /// modification time to the nanosecond (a same-size edit within a second still changes it).
    public static func fingerprint(path: String) -> String {
        let manager = FileManager.default
        var parts: [String] = []
        if let target = try? manager.destinationOfSymbolicLink(atPath: path + "/..data") {
            parts.append(target)
        }
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { return "missing" }
        let files = isDirectory.boolValue
            ? ((try? manager.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
            : [path]
        for file in files {
            var info = stat()
            guard stat(file, &info) == 0 else {
                parts.append("\(file):unreadable")
                continue
            }
            parts.append("\(file):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)")
        }
        return parts.joined(separator: "|")
    }

    private static func readDirectory(_ path: String) throws(ConfigSourceError) -> [RawEntry] {
        let manager = FileManager.default
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: path)
        } catch {
            throw ConfigSourceError(path: path, reason: "cannot list directory: \(error.localizedDescription)")
        }
        var entries: [RawEntry] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let file = (path as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            guard let data = manager.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw ConfigSourceError(path: file, reason: "cannot read the file as UTF-8 text")
            }
            entries.append(RawEntry(key: name, text: text, location: EntryLocation(file: file)))
        }
        return entries
    }

    private static func readFile(_ path: String) throws(ConfigSourceError) -> [RawEntry] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigSourceError(path: path, reason: "cannot read the file as UTF-8 text")
        }
        return try parseDataMap(text: text, file: path)
    }

    /// Reads the keys out of a data-map file or ConfigMap manifest held in `text`.
    public static func parseDataMap(text: String, file: String) throws(ConfigSourceError) -> [RawEntry] {
        var documents: [Node] = []
        do {
            for document in try Yams.compose_all(yaml: text) { documents.append(document) }
        } catch {
            let (line, detail) = EntryParser.describe(yamlError: error)
            throw ConfigSourceError(path: file, reason: "invalid YAML\(line.map { " at line \($0)" } ?? ""): \(detail)")
        }
        let manifest = documents.first { $0.mapping?["kind"]?.string == "ConfigMap" }
        guard let top = (manifest ?? documents.first)?.mapping else {
            throw ConfigSourceError(
                path: file, reason: "expected a ConfigMap manifest or a mapping of keys to YAML documents")
        }
        let dataMap: Node.Mapping
        if let data = top["data"] {
            guard let mapping = data.mapping else {
                throw ConfigSourceError(path: file, reason: "`data` must be a mapping of keys to YAML documents")
            }
            dataMap = mapping
        } else if manifest != nil || top["apiVersion"] != nil {
            return []  // a ConfigMap with no data: no entries
        } else {
            dataMap = top
        }
        var entries: [RawEntry] = []
        for (keyNode, value) in dataMap {
            let key = keyNode.string ?? "\(keyNode)"
            guard let scalar = value.scalar else {
                throw ConfigSourceError(
                    path: file,
                    reason: "line \(value.mark?.line ?? 0): key `\(key)` must hold a string (a YAML document, usually written `\(key): |`), found a nested structure")
            }
            let markLine = scalar.mark?.line ?? 1
            let blockStyle = scalar.style == .literal || scalar.style == .folded
            let firstLine = blockStyle ? markLine + 1 : markLine
            entries.append(RawEntry(key: key, text: scalar.string, location: EntryLocation(file: file, firstLine: firstLine)))
        }
        return entries.sorted { $0.key < $1.key }
    }
}
