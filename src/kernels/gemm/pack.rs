//! Packing: copying a block of an operand into the order the micro-kernel
//! streams it, zero-padded to whole slivers.

use super::microkernel::MicroKernel;
use super::{Gather, MatRef, Operand, simd_pack};
use crate::kernels::copy_short;

/// Packs rows `row0..row0 + mc`, columns `pc..pc + kc` of A into slivers of
/// `MR` rows: sliver `s` holds, for each `p`, the `MR` values of column `p`.
pub fn pack_a<K: MicroKernel>(
    a: Operand<'_>,
    row0: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    out: &mut [f32],
) {
    match a {
        Operand::Strided(a) => pack_a_strided::<K>(a, row0, mc, pc, kc, out),
        Operand::Gathered(a) => {
            for (s, sliver) in out
                .chunks_exact_mut(K::MR * kc)
                .take(mc.div_ceil(K::MR))
                .enumerate()
            {
                let rows = row0 + s * K::MR..(row0 + mc).min(row0 + (s + 1) * K::MR);
                gather_sliver(a, rows, pc..pc + kc, (K::MR, K::SIMD_PACKS), true, sliver);
            }
        }
    }
}

/// [`pack_a`] of a strided operand.
fn pack_a_strided<K: MicroKernel>(
    a: MatRef<'_>,
    row0: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    out: &mut [f32],
) {
    if a.row_stride == 1 {
        // A is stored transposed: the block's values at depth p lie side by
        // side. Read them in order and deal them out to the slivers.
        let whole = mc / K::MR;
        for p in 0..kc {
            let line = &a.data[(pc + p) * a.col_stride + row0..][..mc];
            for s in 0..whole {
                // Constant lengths: a few moves, not a library call.
                out[(s * kc + p) * K::MR..][..K::MR].copy_from_slice(&line[s * K::MR..][..K::MR]);
            }
            let rest = &line[whole * K::MR..];
            if !rest.is_empty() {
                let dst = &mut out[(whole * kc + p) * K::MR..][..K::MR];
                dst[..rest.len()].copy_from_slice(rest);
                dst[rest.len()..].fill(0.0);
            }
        }
        return;
    }
    for (s, sliver) in out
        .chunks_exact_mut(K::MR * kc)
        .take(mc.div_ceil(K::MR))
        .enumerate()
    {
        let first = row0 + s * K::MR;
        let rows = K::MR.min(mc - s * K::MR);
        // A stored by rows: each row runs across the sliver's groups.
        if K::SIMD_PACKS
            && rows == K::MR
            && a.col_stride == 1
            && simd_pack::lines_to_groups(
                K::MR,
                (&a.data[first * a.row_stride + pc..], a.row_stride),
                (sliver, K::MR),
                kc,
            )
        {
            continue;
        }
        for i in 0..K::MR {
            if i >= rows {
                (0..kc).for_each(|p| sliver[p * K::MR + i] = 0.0);
            } else if a.col_stride == 1 {
                let values = &a.data[(first + i) * a.row_stride + pc..][..kc];
                for (p, &v) in values.iter().enumerate() {
                    sliver[p * K::MR + i] = v;
                }
            } else {
                (0..kc).for_each(|p| sliver[p * K::MR + i] = a.at(first + i, pc + p));
            }
        }
    }
}

/// Packs rows `pc..pc + kc`, columns `jc..jc + nc` of B into slivers of
/// `NR` columns: sliver `s` holds, for each `p`, the `NR` values of row `p`.
pub fn pack_b<K: MicroKernel>(
    b: Operand<'_>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    out: &mut [f32],
) {
    match b {
        Operand::Strided(b) => pack_b_strided::<K>(b, pc, kc, jc, nc, out),
        Operand::Gathered(b) => {
            for (s, sliver) in out
                .chunks_exact_mut(K::NR * kc)
                .take(nc.div_ceil(K::NR))
                .enumerate()
            {
                let cols = jc + s * K::NR..(jc + nc).min(jc + (s + 1) * K::NR);
                gather_sliver(b, pc..pc + kc, cols, (K::NR, K::SIMD_PACKS), false, sliver);
            }
        }
    }
}

/// One sliver of a gathered operand, `width` wide, zero-padded: for A
/// (`across_rows`), the rows `rows` side by side for each depth in `cols`;
/// for B, the columns `cols` side by side for each depth in `rows`. With
/// `simd`, whole slivers are gathered by AVX2 where it runs.
fn gather_sliver(
    g: Gather<'_>,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    (width, simd): (usize, bool),
    across_rows: bool,
    sliver: &mut [f32],
) {
    // The offsets along the sliver's width, and along its depth.
    let (across, along) = if across_rows {
        (&g.row_offsets[rows], &g.col_offsets[cols])
    } else {
        (&g.col_offsets[cols], &g.row_offsets[rows])
    };
    let contiguous = across.windows(2).all(|w| w[1] == w[0] + 1);
    if simd && !contiguous && simd_pack::gather_groups(g.data, (along, across), width, sliver) {
        return;
    }
    for (&depth, dst) in along.iter().zip(sliver.chunks_exact_mut(width)) {
        if contiguous && !across.is_empty() {
            let start = depth + across[0];
            copy_short(
                &mut dst[..across.len()],
                &g.data[start..start + across.len()],
            );
        } else {
            for (d, &offset) in dst.iter_mut().zip(across) {
                *d = g.data[depth + offset];
            }
        }
        dst[across.len()..].fill(0.0);
    }
}

/// [`pack_b`] of a strided operand.
fn pack_b_strided<K: MicroKernel>(
    b: MatRef<'_>,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    out: &mut [f32],
) {
    for (s, sliver) in out
        .chunks_exact_mut(K::NR * kc)
        .take(nc.div_ceil(K::NR))
        .enumerate()
    {
        let col0 = jc + s * K::NR;
        let cols = K::NR.min(nc - s * K::NR);
        if b.row_stride == 1 {
            // B is stored transposed: each column is contiguous in p, and
            // runs across the sliver's rows: whole groups of eight columns
            // by in-register transposes, the rest one value at a time.
            let mut done = 0;
            while K::SIMD_PACKS
                && done + 8 <= cols
                && simd_pack::lines_to_groups(
                    8,
                    (&b.data[(col0 + done) * b.col_stride + pc..], b.col_stride),
                    (&mut sliver[done..], K::NR),
                    kc,
                )
            {
                done += 8;
            }
            for j in done..K::NR {
                if j < cols {
                    let column = &b.data[(col0 + j) * b.col_stride + pc..][..kc];
                    for (p, &v) in column.iter().enumerate() {
                        sliver[p * K::NR + j] = v;
                    }
                } else {
                    (0..kc).for_each(|p| sliver[p * K::NR + j] = 0.0);
                }
            }
            continue;
        }
        for (p, dst) in sliver.chunks_exact_mut(K::NR).enumerate() {
            let row = pc + p;
            if b.col_stride == 1 {
                let source = &b.data[row * b.row_stride + col0..][..cols];
                copy_short(&mut dst[..cols], source);
            } else {
                for (j, d) in dst[..cols].iter_mut().enumerate() {
                    *d = b.at(row, col0 + j);
                }
            }
            dst[cols..].fill(0.0);
        }
    }
}
