//! Shorter import names, in a wasm module and in its JS glue alike.
//!
//! walrus (the wasm library wasm-bindgen itself is built on) renames the
//! module's imports; the glue, which names them as object keys, gets the
//! same renames as whole words.

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
    let mut config = walrus::ModuleConfig::new();
    config.generate_producers_section(false);
    let mut module = config
        .parse(&fs::read(wasm)?)
        .map_err(|e| Failure(format!("{}: {e}", wasm.display())))?;
    let renames = rename(&mut module);
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
    fs::write(wasm, module.emit_wasm())?;
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

/// Old names and new, as the JS glue spells them.
type Renames = Vec<(String, String)>;

/// Renames each import module of `module` to `w`, `x`, … and each import
/// field to `a`, `b`, …; returns the renames as the JS glue spells its
/// names: a quoted module name (`"./contacts-editor_bg.js"` → `"w"`) and a
/// bare field name (`__wbg_fetch_9b478faef8cda538` → `b`).
fn rename(module: &mut walrus::Module) -> Renames {
    let mut modules: HashMap<String, String> = HashMap::new();
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut renames = Vec::new();
    for import in module.imports.iter_mut() {
        let next_module = short_name(modules.len() + 22);
        let short_module = modules
            .entry(import.module.clone())
            .or_insert_with(|| {
                renames.push((
                    format!("\"{}\"", import.module),
                    format!("\"{next_module}\""),
                ));
                next_module
            })
            .clone();
        // A field imported from two modules keeps one short name.
        let next_field = short_name(fields.len());
        let short_field = fields
            .entry(import.name.clone())
            .or_insert_with(|| {
                renames.push((import.name.clone(), next_field.clone()));
                next_field
            })
            .clone();
        import.module = short_module;
        import.name = short_field;
    }
    renames
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing a function `__wbg_f_0123` and a memory from
    /// `./glue.js`, and a function `__wbg_f_0123` from `./other.js`.
    fn module() -> walrus::Module {
        let mut module = walrus::Module::default();
        let ty = module.types.add(&[], &[]);
        module.add_import_func("./glue.js", "__wbg_f_0123", ty);
        module.add_import_memory("./glue.js", "mem", false, false, 1, None, None);
        module.add_import_func("./other.js", "__wbg_f_0123", ty);
        module
    }

    #[test]
    fn renames_modules_and_fields_in_the_module() {
        let mut module = module();
        assert_eq!(
            rename(&mut module),
            [
                ("\"./glue.js\"".to_owned(), "\"w\"".to_owned()),
                ("__wbg_f_0123".to_owned(), "a".to_owned()),
                ("mem".to_owned(), "b".to_owned()),
                ("\"./other.js\"".to_owned(), "\"x\"".to_owned()),
            ]
        );
        let reread = walrus::Module::from_buffer(&module.emit_wasm()).expect("a module");
        let names: Vec<(&str, &str)> = reread
            .imports
            .iter()
            .map(|import| (import.module.as_str(), import.name.as_str()))
            .collect();
        assert_eq!(names, [("w", "a"), ("w", "b"), ("x", "a")]);
    }

    #[test]
    fn renames_in_the_module_file_and_its_glue_or_changes_neither() {
        let dir = std::env::temp_dir().join(format!("xtask-wasm-imports-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (wasm, glue) = (dir.join("m_bg.wasm"), dir.join("m.js"));
        fs::write(&wasm, module().emit_wasm()).unwrap();
        fs::write(
            &glue,
            r#"({"./glue.js":{__wbg_f_0123(){},mem},"./other.js":{__wbg_f_0123(){}}})"#,
        )
        .unwrap();
        minify_imports(&wasm, &glue).unwrap();
        assert_eq!(
            fs::read_to_string(&glue).unwrap(),
            r#"({"w":{a(){},b},"x":{a(){}}})"#
        );

        fs::write(&wasm, "not wasm").unwrap();
        let Err(Failure(why)) = minify_imports(&wasm, &glue) else {
            panic!("read a module from text");
        };
        assert!(why.contains("m_bg.wasm"), "{why}");
        assert_eq!(fs::read(&wasm).unwrap(), b"not wasm");
        fs::remove_dir_all(&dir).unwrap();
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
