//! Exact-width range checks on top of halo2_gadgets' `LookupRangeCheckConfig`.
//!
//! A value `x` is proven to be below `2^bits` with a running-sum decomposition into
//! `bits / 10` ten-bit words (each word looked up in a 1024-row table), followed — when
//! `bits` is not a multiple of 10 — by a *short* lookup range check proving that the
//! remaining high part `z_w = (x - low) / 2^(10 w)` is below `2^(bits mod 10)`:
//!
//! - u64: 6 words (60 bits) and a 4-bit short check on `z_6`;
//! - u32: 3 words (30 bits) and a 2-bit short check on `z_3`.
//!
//! Why this is exact: every word is in `[0, 2^10)` and `z_w < 2^(bits mod 10)`, so
//! `x = sum(a_i 2^(10 i)) + 2^(10 w) z_w` is an *integer* below `2^bits < p`; no
//! field wrap-around is possible. A 64-bit check costs 7 rows for the running sum plus 3
//! rows for the short check, all in the `running_sum` column (which no other chip uses, so
//! the floor planner lays these regions beside the Poseidon rows).

use halo2_gadgets::utilities::lookup_range_check::{LookupRangeCheck, LookupRangeCheckConfig};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{Error, TableColumn},
};
use pasta_curves::Fp;

/// Bits per running-sum word; the lookup table holds `0..2^LOOKUP_BITS`.
pub const LOOKUP_BITS: usize = 10;

/// The range-check configuration used by the circuit (10-bit words over Pasta `Fp`).
pub type RangeConfig = LookupRangeCheckConfig<Fp, LOOKUP_BITS>;

/// Fills `table` with `0..2^LOOKUP_BITS` (the gadget's own loader is test-only).
pub fn load_table(table: TableColumn, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
    layouter.assign_table(
        || "10-bit range table",
        |mut t| {
            for i in 0..(1usize << LOOKUP_BITS) {
                t.assign_cell(|| "value", table, i, || Value::known(Fp::from(i as u64)))?;
            }
            Ok(())
        },
    )
}

/// Constrains the value of `cell` to be an integer in `[0, 2^bits)`.
///
/// `bits` must be at least 1 and at most 250 (the running sum must fit in a field element).
/// A circuit-construction mistake (bits out of that range) is reported as
/// [`Error::Synthesis`], never a panic.
pub fn range_check(
    config: &RangeConfig,
    mut layouter: impl Layouter<Fp>,
    cell: &AssignedCell<Fp, Fp>,
    bits: usize,
) -> Result<(), Error> {
    if bits == 0 || bits > 250 {
        return Err(Error::Synthesis);
    }
    let words = bits / LOOKUP_BITS;
    let rem = bits % LOOKUP_BITS;
    if rem == 0 {
        // Strict mode: the last running sum z_words is constrained to zero.
        config.copy_check(
            layouter.namespace(|| "running sum"),
            cell.clone(),
            words,
            true,
        )?;
        return Ok(());
    }
    let top = if words == 0 {
        cell.clone()
    } else {
        let zs = config.copy_check(
            layouter.namespace(|| "running sum"),
            cell.clone(),
            words,
            false,
        )?;
        zs.get(words).cloned().ok_or(Error::Synthesis)?
    };
    // 0 < rem < LOOKUP_BITS, as `copy_short_check` requires.
    config.copy_short_check(layouter.namespace(|| "high bits"), top, rem)
}
