//! Renaming a wasm module's imports, in the module and in its JS glue: the
//! import section is rewritten, every other byte of the module is kept.
//!
//! Only what the import section needs of the binary format is read: LEB128
//! numbers, names, and the five kinds of import (function, table, memory,
//! global, tag).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::{Failure, Result};

/// Shortens the names under which a wasm module imports its JS glue
/// (`"./contacts-editor_bg.js"`, `__wbg_fetch_9b478faef8cda538`) to `w` and
/// `a`, `b`, …, in the module and in the glue alike: wasm-bindgen's names
/// carry a 16-digit hash each, which gzip cannot shrink, in both files.
/// Exports keep their names (the package's `InitOutput` type names them).
/// Every old name must be found, as a whole word, in the glue.
pub fn minify_imports(wasm: &Path, glue: &Path) -> Result {
    let module = fs::read(wasm)?;
    let bad = |why: &str| Failure(format!("{}: {why}", wasm.display()));
    let (module, renames) = rename(&module).map_err(bad)?;
    let mut js = fs::read_to_string(glue)?;
    for (old, new) in &renames {
        js = rename_word(&js, old, new).ok_or_else(|| {
            Failure(format!(
                "`{old}`, imported by {}, is not in {}",
                wasm.display(),
                glue.display()
            ))
        })?;
    }
    fs::write(wasm, module)?;
    fs::write(glue, js)?;
    println!("  {} import names shortened", renames.len());
    Ok(())
}

/// `text` with every whole-word `old` (not part of a longer identifier)
/// replaced by `new`; `None` where there is none.
fn rename_word(text: &str, old: &str, new: &str) -> Option<String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = false;
    while let Some(at) = rest.find(old) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = rest[at + old.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_word) || after.is_some_and(is_word) {
            out.push_str(old);
        } else {
            out.push_str(new);
            found = true;
        }
        rest = &rest[at + old.len()..];
    }
    out.push_str(rest);
    found.then_some(out)
}

/// What reading the binary format gives: the value, or why the module is
/// not one this can read.
type Read<T> = std::result::Result<T, &'static str>;

/// Old names and new, as the JS glue spells them.
type Renames = Vec<(String, String)>;

/// The id of the import section.
const IMPORT_SECTION: u8 = 2;

/// The module with each import module renamed to `w`, `x`, … and each
/// import field to `a`, `b`, …, and the renames as the JS glue spells its
/// names: a quoted module name (`"./contacts-editor_bg.js"` → `"w"`) and
/// a bare field name (`__wbg_fetch_9b478faef8cda538` → `b`).
fn rename(module: &[u8]) -> Read<(Vec<u8>, Renames)> {
    let header = module.get(..8).ok_or("too short for a wasm module")?;
    if header != b"\0asm\x01\0\0\0" {
        return Err("not a wasm module (version 1)");
    }
    let mut out = header.to_vec();
    let mut renames = Vec::new();
    let mut at = 8;
    while at < module.len() {
        let id = module[at];
        let mut reader = Reader {
            bytes: module,
            at: at + 1,
        };
        let size = reader.leb()? as usize;
        let start = reader.at;
        let payload = module
            .get(start..start + size)
            .ok_or("a section runs past the end")?;
        if id == IMPORT_SECTION {
            let (section, names) = rename_imports(payload)?;
            out.push(id);
            write_leb(&mut out, section.len() as u64);
            out.extend(section);
            renames = names;
        } else {
            out.extend(&module[at..start + size]);
        }
        at = start + size;
    }
    Ok((out, renames))
}

fn rename_imports(payload: &[u8]) -> Read<(Vec<u8>, Renames)> {
    let mut reader = Reader {
        bytes: payload,
        at: 0,
    };
    let count = reader.leb()?;
    let mut out = Vec::new();
    write_leb(&mut out, count);
    let mut modules: HashMap<String, String> = HashMap::new();
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut renames = Vec::new();
    for _ in 0..count {
        let module = reader.name()?;
        let field = reader.name()?;
        let next_module = short_name(modules.len() + 22);
        let short_module = modules.entry(module.clone()).or_insert_with(|| {
            renames.push((format!("\"{module}\""), format!("\"{next_module}\"")));
            next_module
        });
        write_name(&mut out, short_module);
        // A field imported from two modules keeps one short name.
        let next_field = short_name(fields.len());
        let short_field = fields.entry(field.clone()).or_insert_with(|| {
            renames.push((field.clone(), next_field.clone()));
            next_field
        });
        write_name(&mut out, short_field);
        let desc = reader.at;
        reader.skip_import_desc()?;
        out.extend(&payload[desc..reader.at]);
    }
    if reader.at != payload.len() {
        return Err("bytes after the last import");
    }
    Ok((out, renames))
}

/// `a` … `z`, `A` … `Z`, then `aa`, `ab`, …: JavaScript identifiers.
fn short_name(mut n: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut name = Vec::new();
    loop {
        name.push(LETTERS[n % LETTERS.len()]);
        n /= LETTERS.len();
        if n == 0 {
            break;
        }
        n -= 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Read<u8> {
        let byte = *self.bytes.get(self.at).ok_or("the module ends too soon")?;
        self.at += 1;
        Ok(byte)
    }

    fn leb(&mut self) -> Read<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number is too long")
    }

    fn name(&mut self) -> Read<String> {
        let len = self.leb()? as usize;
        let bytes = self
            .bytes
            .get(self.at..self.at + len)
            .ok_or("a name runs past the end")?;
        self.at += len;
        String::from_utf8(bytes.to_vec()).map_err(|_| "a name is not UTF-8")
    }

    fn limits(&mut self) -> Read<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }

    fn skip_import_desc(&mut self) -> Read<()> {
        match self.byte()? {
            // A function, by its type index.
            0x00 => self.leb().map(drop),
            // A table: its element type, then its limits.
            0x01 => {
                self.byte()?;
                self.limits()
            }
            // A memory.
            0x02 => self.limits(),
            // A global: its value type and mutability.
            0x03 => {
                self.byte()?;
                self.byte().map(drop)
            }
            // A tag: its attribute and type index.
            0x04 => {
                self.byte()?;
                self.leb().map(drop)
            }
            _ => Err("an import of an unknown kind"),
        }
    }
}

fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_name(out: &mut Vec<u8>, name: &str) {
    write_leb(out, name.len() as u64);
    out.extend(name.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing a function `__wbg_f_0123` and a memory from `./glue.js`.
    fn module() -> Vec<u8> {
        let mut imports = Vec::new();
        write_leb(&mut imports, 2);
        for (field, desc) in [
            ("__wbg_f_0123", &[0x00, 0x00][..]),
            ("mem", &[0x02, 0x01, 0x01, 0x02]),
        ] {
            write_name(&mut imports, "./glue.js");
            write_name(&mut imports, field);
            imports.extend(desc);
        }
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        // A type section with one `() -> ()` function type, kept as it is.
        module.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        module.push(IMPORT_SECTION);
        write_leb(&mut module, imports.len() as u64);
        module.extend(imports);
        module
    }

    #[test]
    fn renames_modules_and_fields_and_keeps_the_rest() {
        let (renamed, renames) = rename(&module()).expect("a module");
        assert_eq!(
            renames,
            [
                ("\"./glue.js\"".to_owned(), "\"w\"".to_owned()),
                ("__wbg_f_0123".to_owned(), "a".to_owned()),
                ("mem".to_owned(), "b".to_owned()),
            ]
        );
        assert_eq!(&renamed[..14], &module()[..14]);
        let mut reader = Reader {
            bytes: &renamed,
            at: 16,
        };
        assert_eq!(reader.leb(), Ok(2));
        assert_eq!(reader.name().as_deref(), Ok("w"));
        assert_eq!(reader.name().as_deref(), Ok("a"));
    }

    #[test]
    fn refuses_what_is_not_a_module() {
        assert!(rename(b"\0asm").is_err());
        assert!(rename(b"not wasm at all").is_err());
        let mut cut = module();
        cut.truncate(cut.len() - 2);
        assert!(rename(&cut).is_err());
    }

    #[test]
    fn short_names_are_identifiers_and_distinct() {
        let names: Vec<String> = (0..3000).map(short_name).collect();
        assert_eq!(&names[..3], ["a", "b", "c"]);
        assert_eq!(names[52], "aa");
        let distinct: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
    }

    #[test]
    fn renames_whole_words_only() {
        assert_eq!(
            rename_word(
                "{__wbg_a_1:function(){},__wbg_a_12:1,x.__wbg_a_1}",
                "__wbg_a_1",
                "A"
            ),
            Some("{A:function(){},__wbg_a_12:1,x.A}".to_owned())
        );
        assert_eq!(rename_word("__wbg_a_12", "__wbg_a_1", "A"), None);
        assert_eq!(rename_word("nothing", "__wbg_a_1", "A"), None);
    }
}
