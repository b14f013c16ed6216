//! The demo's single offline `index.html`: sections of text, figures and tables.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::Result;

/// A block of a section.
pub enum Block {
    Text(String),
    /// A figure: path relative to the HTML file, and its caption.
    Figure { src: String, caption: String },
    /// A table: header row and body rows.
    Table { header: Vec<String>, rows: Vec<Vec<String>> },
}

/// One section of the report (PCA, autoencoders, ...).
pub struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Writes `index.html` with every section; images are referenced by relative path so the folder
/// can be opened offline or moved as a whole.
pub fn write_report(path: &Path, title: &str, intro: &str, sections: &[Section]) -> Result<()> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>\
         body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}}\
         img{{max-width:100%;border:1px solid #ddd}}figure{{margin:1.5em 0}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}\
         th{{background:#f3f3f3}}nav a{{margin-right:1em}}</style></head><body>\n<h1>{t}</h1>\n<p>{i}</p>\n<nav>",
        t = esc(title),
        i = esc(intro)
    );
    for (n, s) in sections.iter().enumerate() {
        let _ = write!(h, "<a href=\"#s{n}\">{}</a>", esc(&s.title));
    }
    h.push_str("</nav>\n");
    for (n, s) in sections.iter().enumerate() {
        let _ = writeln!(h, "<section id=\"s{n}\"><h2>{}</h2>", esc(&s.title));
        for b in &s.blocks {
            match b {
                Block::Text(t) => {
                    let _ = writeln!(h, "<p>{}</p>", esc(t));
                }
                Block::Figure { src, caption } => {
                    let _ = writeln!(
                        h,
                        "<figure><img src=\"{}\" alt=\"{c}\"><figcaption>{c}</figcaption></figure>",
                        esc(src),
                        c = esc(caption)
                    );
                }
                Block::Table { header, rows } => {
                    h.push_str("<table><tr>");
                    for c in header {
                        let _ = write!(h, "<th>{}</th>", esc(c));
                    }
                    h.push_str("</tr>\n");
                    for r in rows {
                        h.push_str("<tr>");
                        for c in r {
                            let _ = write!(h, "<td>{}</td>", esc(c));
                        }
                        h.push_str("</tr>\n");
                    }
                    h.push_str("</table>\n");
                }
            }
        }
        h.push_str("</section>\n");
    }
    h.push_str("</body></html>\n");
    crate::io::write_bytes(path, h.as_bytes())
}
