//! The check behind wasm-opt's `--low-memory-unused` (index.html).
//!
//! That flag tells wasm-opt that the program never reads or writes the
//! lowest 1 KiB of its memory, so that it may fold a constant offset into a
//! load's or a store's immediate. It holds where no static data lies there:
//! rustc's wasm32 layout puts the stack first and the data above it (from
//! 1 MiB), and wasm-ld's own default puts the data at 1 KiB; below 1 KiB
//! only a stack already about 1 MiB deep would reach. Nothing in the build
//! guarantees that layout, so the build reads it from the wasm it ships.

use std::fs;
use std::path::Path;

use walrus::{ConstExpr, DataKind, ir::Value};

use crate::{Failure, Result};

/// The memory wasm-opt's `--low-memory-unused` assumes unused: `[0, 1024)`.
const LOW_MEMORY_BYTES: u64 = 1024;

/// Fails unless every data segment of the wasm at `wasm` starts at a constant
/// address of at least [`LOW_MEMORY_BYTES`].
pub fn check_low_memory_unused(wasm: &Path) -> Result {
    let module = walrus::Module::from_buffer(&fs::read(wasm)?)
        .map_err(|e| Failure(format!("{}: {e}", wasm.display())))?;
    let lowest = lowest_data_address(&module).map_err(|e| {
        Failure(format!(
            "{}: {e}; index.html builds it with wasm-opt --low-memory-unused, \
             which assumes no data below {LOW_MEMORY_BYTES} bytes: drop that flag \
             or restore the layout",
            wasm.display()
        ))
    })?;
    if let Some(lowest) = lowest {
        println!(
            "  lowest data segment at {lowest} (at or above {LOW_MEMORY_BYTES}, as --low-memory-unused assumes)"
        );
    }
    Ok(())
}

/// The lowest address at which a data segment starts (`None` without data),
/// or why it is not at or above [`LOW_MEMORY_BYTES`] for certain.
fn lowest_data_address(module: &walrus::Module) -> std::result::Result<Option<u64>, String> {
    let mut lowest: Option<u64> = None;
    for data in module.data.iter() {
        let start = match &data.kind {
            DataKind::Active {
                offset: ConstExpr::Value(Value::I32(address)),
                ..
            } => u64::from(address.cast_unsigned()),
            DataKind::Active {
                offset: ConstExpr::Value(Value::I64(address)),
                ..
            } => address.cast_unsigned(),
            DataKind::Active { offset, .. } => {
                return Err(format!(
                    "a data segment starts at {offset:?}, an address the build cannot read"
                ));
            }
            DataKind::Passive => {
                return Err(
                    "a passive data segment may be copied to any address at run time".to_owned(),
                );
            }
        };
        if start < LOW_MEMORY_BYTES {
            return Err(format!(
                "a data segment of {} bytes starts at address {start}",
                data.value.len()
            ));
        }
        lowest = Some(lowest.map_or(start, |l| l.min(start)));
    }
    Ok(lowest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one memory and an active data segment at each address.
    fn module(addresses: &[i32]) -> walrus::Module {
        let mut module = walrus::Module::default();
        let memory = module.memories.add_local(false, false, 17, None, None);
        for &address in addresses {
            module.data.add(
                DataKind::Active {
                    memory,
                    offset: ConstExpr::Value(Value::I32(address)),
                },
                vec![1, 2, 3],
            );
        }
        module
    }

    #[test]
    fn data_at_or_above_1_kib_passes() {
        assert_eq!(lowest_data_address(&module(&[])), Ok(None));
        assert_eq!(
            lowest_data_address(&module(&[1_048_576, 1024, 2048])),
            Ok(Some(1024))
        );
    }

    #[test]
    fn data_below_1_kib_fails() {
        let error = lowest_data_address(&module(&[1_048_576, 1023])).unwrap_err();
        assert_eq!(error, "a data segment of 3 bytes starts at address 1023");
        // An i32 address past 2 GiB is read unsigned, not as a negative one.
        assert_eq!(
            lowest_data_address(&module(&[i32::MIN])),
            Ok(Some(2_147_483_648))
        );
    }

    #[test]
    fn data_at_an_address_known_only_at_run_time_fails() {
        let mut passive = module(&[]);
        passive.data.add(DataKind::Passive, vec![0]);
        assert!(lowest_data_address(&passive).is_err());

        let mut global = module(&[]);
        let base = global.globals.add_local(
            walrus::ValType::I32,
            false,
            false,
            ConstExpr::Value(Value::I32(4096)),
        );
        let memory = global.memories.iter().next().expect("a memory").id();
        global.data.add(
            DataKind::Active {
                memory,
                offset: ConstExpr::Global(base),
            },
            vec![0],
        );
        assert!(lowest_data_address(&global).is_err());
    }
}
