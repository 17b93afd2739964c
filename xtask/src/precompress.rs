//! The editor's files compressed ahead of time, beside the originals
//! (`editor.css.br`, `editor.css.gz`), so that the reference server (and any
//! static host with an equivalent of nginx's `brotli_static` and
//! `gzip_static`) sends them compressed: brotli to the browsers that accept
//! it (all current ones, also over plain HTTP to a loopback address), gzip
//! to the others.
//!
//! Both at their smallest, which a release build can afford (a few seconds
//! for the wasm) and a server compressing per request could not: brotli at
//! quality 11 takes about 12 % off zopfli's gzip of the editor's wasm
//! (91.8 against 103.7 KB); zopfli writes ordinary gzip that every browser
//! reads, about 5 % smaller than `gzip -9`.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::Result;

/// The extensions of the files a browser fetches from `dist/`.
const COMPRESSED: [&str; 4] = ["html", "js", "css", "wasm"];

/// Brotli's highest quality, and its largest window that browsers read
/// (4 MiB, more than any file of the editor).
const BROTLI_QUALITY: u32 = 11;
const BROTLI_WINDOW_BITS: u32 = 22;

/// Writes `NAME.br` and `NAME.gz` beside every HTML, JS, CSS and wasm file
/// of `dir` (not below it), replacing older ones.
pub fn precompress(dir: &Path) -> Result {
    let mut written = 0;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSED.contains(&e));
        if !wanted || !path.is_file() {
            continue;
        }
        let original = fs::read(&path)?;
        let mut gzipped = Vec::new();
        zopfli::compress(
            zopfli::Options::default(),
            zopfli::Format::Gzip,
            original.as_slice(),
            &mut gzipped,
        )?;
        fs::write(beside(&path, "gz"), gzipped)?;
        let mut brotli =
            brotli::CompressorWriter::new(Vec::new(), 4096, BROTLI_QUALITY, BROTLI_WINDOW_BITS);
        brotli.write_all(&original)?;
        fs::write(beside(&path, "br"), brotli.into_inner())?;
        written += 1;
    }
    println!("  {written} files compressed beside the originals (brotli, and gzip by zopfli)");
    Ok(())
}

/// `path` with `.extension` added: `editor.css` -> `editor.css.br`.
fn beside(path: &Path, extension: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    name.into()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compresses_the_files_browsers_fetch_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let text = "body { color: black }\n".repeat(50);
        fs::write(dir.join("editor.css"), &text).unwrap();
        fs::write(dir.join("notes.txt"), "not fetched").unwrap();
        // A stale copy is replaced.
        fs::write(dir.join("editor.css.gz"), "stale").unwrap();
        fs::write(dir.join("editor.css.br"), "stale").unwrap();

        precompress(&dir).unwrap();

        let gzipped = fs::read(dir.join("editor.css.gz")).unwrap();
        assert!(gzipped.len() < text.len() / 4, "{} bytes", gzipped.len());
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(gzipped.as_slice())
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);
        let brotli = fs::read(dir.join("editor.css.br")).unwrap();
        assert!(brotli.len() < text.len() / 4, "{} bytes", brotli.len());
        let mut unbrotlied = String::new();
        brotli::Decompressor::new(brotli.as_slice(), 4096)
            .read_to_string(&mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, text);
        for copy in ["notes.txt.gz", "notes.txt.br"] {
            assert!(!dir.join(copy).exists(), "{copy}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
