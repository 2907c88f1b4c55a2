//! Minimal HTML building: escaping, tables, the page frame.

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A table with a header row; cells are escaped.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = String::from("<table><thead><tr>");
    for c in header {
        h.push_str(&format!("<th>{}</th>", esc(c)));
    }
    h.push_str("</tr></thead><tbody>");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            h.push_str(&format!("<td>{}</td>", esc(c)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

/// A section with an id, a heading, and body HTML.
pub fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\"><h2>{}</h2>{body}</section>\n",
        esc(title)
    )
}

/// A paragraph of escaped text.
pub fn p(text: &str) -> String {
    format!("<p>{}</p>", esc(text))
}

/// The whole page.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{}</style></head><body><h1>{}</h1>{body}</body></html>\n",
        esc(title),
        CSS,
        esc(title)
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
h1{border-bottom:2px solid #1f77b4}h2{margin-top:2em;color:#1f4e79}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:0.9em;text-align:left}\
th{background:#eef3f8}.factual{color:#1a7f37;font-weight:bold}.value{color:#b35900;font-weight:bold}.default{color:#666;font-weight:bold}\
.note{color:#555;font-size:0.9em}svg{max-width:100%;height:auto}.warn{color:#b00020}";
