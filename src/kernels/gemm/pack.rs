//! Packing: copying a block of an operand into the order the micro-kernel
//! streams it, zero-padded to whole slivers.

use super::microkernel::MicroKernel;
use super::{Gather, Operand, simd_pack};
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
        Operand::Strided(a) => pack_strided(
            a.data,
            (a.row_stride, a.col_stride),
            (row0..row0 + mc, pc..pc + kc),
            (K::MR, K::SIMD_PACKS),
            out,
        ),
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
        Operand::Strided(b) => pack_strided(
            b.data,
            (b.col_stride, b.row_stride),
            (jc..jc + nc, pc..pc + kc),
            (K::NR, K::SIMD_PACKS),
            out,
        ),
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

/// A strided block packed into slivers of `width` lines: element `(line,
/// depth)` of the operand is `data[line·across + depth·along]` (a row of
/// A or a column of B is a line), and sliver `s` holds, for each depth, the
/// values of its `width` lines, zero past the last line. With `simd`,
/// lines stored along the depth are transposed in registers where AVX2
/// runs. Inlined into each kernel's packs, so that `width` is a constant.
#[inline(always)]
fn pack_strided(
    data: &[f32],
    (across, along): (usize, usize),
    (lines, depths): (std::ops::Range<usize>, std::ops::Range<usize>),
    (width, simd): (usize, bool),
    out: &mut [f32],
) {
    let (count, kc) = (lines.len(), depths.len());
    if across == 1 {
        // The block's values at one depth lie side by side: read them in
        // order and deal them out to the slivers.
        let whole = count / width;
        for p in 0..kc {
            let values = &data[(depths.start + p) * along + lines.start..][..count];
            for s in 0..whole {
                // Constant lengths: a few moves, not a library call.
                out[(s * kc + p) * width..][..width].copy_from_slice(&values[s * width..][..width]);
            }
            let rest = &values[whole * width..];
            if !rest.is_empty() {
                let dst = &mut out[(whole * kc + p) * width..][..width];
                dst[..rest.len()].copy_from_slice(rest);
                dst[rest.len()..].fill(0.0);
            }
        }
        return;
    }
    // Each line runs across the sliver's groups: whole groups of lines (6
    // or 8) by in-register transposes where they can be, the rest one value
    // at a time.
    let group = if width.is_multiple_of(8) { 8 } else { width };
    for (s, sliver) in out
        .chunks_exact_mut(width * kc)
        .take(count.div_ceil(width))
        .enumerate()
    {
        let first = lines.start + s * width;
        let valid = width.min(count - s * width);
        let mut done = 0;
        while simd
            && along == 1
            && done + group <= valid
            && simd_pack::lines_to_groups(
                group,
                (&data[(first + done) * across + depths.start..], across),
                (&mut sliver[done..], width),
                kc,
            )
        {
            done += group;
        }
        for i in done..width {
            let line = first + i;
            if i >= valid {
                (0..kc).for_each(|p| sliver[p * width + i] = 0.0);
            } else if along == 1 {
                let values = &data[line * across + depths.start..][..kc];
                for (p, &v) in values.iter().enumerate() {
                    sliver[p * width + i] = v;
                }
            } else {
                let at = |p: usize| data[line * across + (depths.start + p) * along];
                (0..kc).for_each(|p| sliver[p * width + i] = at(p));
            }
        }
    }
}
