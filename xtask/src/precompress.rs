//! The editor's files gzipped ahead of time, beside the originals
//! (`editor.css.gz`), so that the reference server (and any static host
//! with an equivalent of nginx's `gzip_static`) sends them compressed.
//!
//! Zopfli writes ordinary gzip that every browser reads, about 5 % smaller
//! than `gzip -9`; it is slow (a second for the wasm), which a release build
//! can afford and a server compressing per request could not.

use std::fs;
use std::path::Path;

use crate::Result;

/// The extensions of the files a browser fetches from `dist/`.
const COMPRESSED: [&str; 4] = ["html", "js", "css", "wasm"];

/// Writes `NAME.gz` beside every HTML, JS, CSS and wasm file of `dir` (not
/// below it), replacing older ones.
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
        let mut name = path.clone().into_os_string();
        name.push(".gz");
        fs::write(name, gzipped)?;
        written += 1;
    }
    println!("  {written} files gzipped beside the originals (zopfli)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn gzips_the_files_browsers_fetch_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let text = "body { color: black }\n".repeat(50);
        fs::write(dir.join("editor.css"), &text).unwrap();
        fs::write(dir.join("notes.txt"), "not fetched").unwrap();
        // A stale copy is replaced.
        fs::write(dir.join("editor.css.gz"), "stale").unwrap();

        precompress(&dir).unwrap();

        let gzipped = fs::read(dir.join("editor.css.gz")).unwrap();
        assert!(gzipped.len() < text.len() / 4, "{} bytes", gzipped.len());
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(gzipped.as_slice())
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, text);
        assert!(!dir.join("notes.txt.gz").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
