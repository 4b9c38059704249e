// What every HTML page of the product shares: escaping and the style sheet. The pages are
// server-rendered (the status pages) or written to a file (the backtest report); neither runs a
// script or loads anything, so both work air-gapped.

/// Escaping of text written into HTML and SVG.
public enum HTMLText {
    /// `text` safe inside an element or a double-quoted attribute: `& < > " '` as entities.
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}

/// The style sheet of the pages: inline, system fonts, nothing loaded.
public enum PageStyle {
    /// The CSS, for a `<style>` element.
    public static let css = """
    body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0 1.5em 2em;color:#1d2430;background:#fafbfc}
    header{display:flex;gap:1em;align-items:baseline;border-bottom:1px solid #d8dde3;padding:.6em 0;margin-bottom:.8em}
    h1{font-size:1.3em;margin:.2em 0} h2{font-size:1em;margin:.2em 0 .4em;color:#4a5563}
    a{color:#0b5cad;text-decoration:none} a:hover{text-decoration:underline}
    code,.model{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:.93em;overflow-wrap:anywhere}
    .muted{color:#6b7683} .detail{color:#4a5563;font-size:.92em}
    .summary{display:flex;flex-wrap:wrap;gap:.8em;margin-bottom:.8em}
    .card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.5em .9em;min-width:12em;max-width:34em}
    .card p{margin:.2em 0} .card ul{margin:.2em 0;padding-left:1.2em} .big{font-size:1.6em;font-weight:600}
    .card.bad{border-color:#c0392b;background:#fdf1ef} .bad{color:#a3281c}
    .warnings,.problems{background:#fff8e1;border:1px solid #e0c36a;border-radius:6px;padding:.4em 1.8em;margin:.4em 0}
    .filters{display:flex;flex-wrap:wrap;gap:.8em;align-items:end;margin:.6em 0}
    .filters label{display:flex;flex-direction:column;font-size:.85em;color:#4a5563}
    .filters input,.filters select,.filters button{font:inherit;padding:.2em .3em}
    .count{margin:.4em 0} .pages{margin:.4em 0;display:flex;gap:.5em;flex-wrap:wrap}
    table{border-collapse:collapse;background:#fff} th,td{border-bottom:1px solid #e6e9ed;padding:.3em .6em;text-align:left;vertical-align:top}
    table.models{width:100%} table.models thead th{position:sticky;top:0;background:#eef1f4;white-space:nowrap}
    .num{text-align:right;font-variant-numeric:tabular-nums} td.unknown{color:#a3281c}
    table.kv th{font-weight:500;color:#4a5563;white-space:nowrap}
    .state{display:inline-block;border-radius:3px;padding:0 .4em;font-size:.85em;font-weight:600;color:#fff;background:#6b7683}
    .s-active{background:#1f7a3f} .s-idle{background:#b7791f} .s-zero{background:#4a5563} .s-waking{background:#2b6cb0} .s-held{background:#c0392b} .s-undecided{background:#8a94a0}
    .z-countdown{color:#8a5a00;font-weight:600} .z-blocked{color:#a3281c} .z-at-zero{color:#4a5563}
    section{margin:1em 0} svg{background:#fff;border:1px solid #d8dde3;border-radius:6px;max-width:100%;height:auto}
    """
}
