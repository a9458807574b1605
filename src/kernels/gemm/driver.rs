//! The driver: a product cut into parts over threads, each part blocked
//! for the caches, packed, and computed tile by tile by a micro-kernel.

use std::cell::{Cell, RefCell};
use std::ops::Range;

use rayon::prelude::*;

use super::microkernel::{Avx2, Avx512, MicroKernel, Portable};
use super::{Epilogue, Isa, Operand, pack};

/// Below this many multiply-adds a product stays on one thread.
const PARALLEL_WORK: usize = 1 << 20;
/// The least work of one part when a product is cut finely.
const PART_WORK: usize = 1 << 18;
/// Parts per thread at most.
const PARTS_PER_THREAD: usize = 4;
/// The largest operand (in values, padded) packed once and shared by all
/// parts of a product; a larger one is packed by each part.
const SHARED_PACK: usize = 1 << 20;

/// [`sgemm_on`] past the conversions: not generic, so compiled once here
/// rather than in every crate that multiplies.
pub(super) fn product(
    isa: Isa,
    (m, n, k): (usize, usize, usize),
    (a, b): (Operand<'_>, Operand<'_>),
    c: &mut [f32],
    accumulate: bool,
    epilogue: &dyn Epilogue,
) {
    let values = m.checked_mul(n);
    assert!(
        values.is_some_and(|values| c.len() >= values),
        "C holds {} values, not {m}×{n}",
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    check_operand("A", &a, (m, k));
    check_operand("B", &b, (k, n));
    let product = Product {
        m,
        n,
        k,
        a,
        b,
        c: CView {
            ptr: c.as_mut_ptr(),
            ld: n,
        },
        accumulate,
        epilogue,
    };
    let isa = if isa.runs_here() { isa } else { Isa::Portable };
    match isa {
        Isa::Portable => product.run::<Portable>(),
        Isa::Avx2 => product.run::<Avx2>(),
        Isa::Avx512 => product.run::<Avx512>(),
    }
}

/// Panics unless `operand` holds every value of its `rows × cols` that a
/// product reads: the packers and the micro-kernels rely on it.
fn check_operand(name: &str, operand: &Operand<'_>, (rows, cols): (usize, usize)) {
    if rows == 0 || cols == 0 {
        return;
    }
    let (last, len) = match operand {
        Operand::Strided(m) => {
            let last = (rows - 1)
                .checked_mul(m.row_stride)
                .and_then(|r| r.checked_add((cols - 1).checked_mul(m.col_stride)?));
            (last, m.data.len())
        }
        Operand::Gathered(g) => {
            assert!(
                g.row_offsets.len() >= rows && g.col_offsets.len() >= cols,
                "{name} gathers {rows}×{cols} values through {} row and {} column offsets",
                g.row_offsets.len(),
                g.col_offsets.len()
            );
            let furthest = |offsets: &[usize]| offsets.iter().copied().max().unwrap_or(0);
            let last =
                furthest(&g.row_offsets[..rows]).checked_add(furthest(&g.col_offsets[..cols]));
            (last, g.data.len())
        }
    };
    assert!(
        last.is_some_and(|last| last < len),
        "{name} ({rows}×{cols}) reads past its {len} values"
    );
}

/// One call's operands.
#[derive(Clone, Copy)]
struct Product<'a> {
    m: usize,
    n: usize,
    k: usize,
    a: Operand<'a>,
    b: Operand<'a>,
    c: CView,
    accumulate: bool,
    epilogue: &'a dyn Epilogue,
}

/// The operand a part takes: as given (each part packs what it reads), or
/// packed once for the whole product, block after block of depth `KC`.
#[derive(Clone, Copy)]
enum Source<'a> {
    Given(Operand<'a>),
    Packed(&'a [f32]),
}

thread_local! {
    /// The operand packed once for all parts of a product, on the thread
    /// that splits it.
    static SHARED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl Product<'_> {
    fn run<K: MicroKernel>(self) {
        let (m, n, k) = (self.m, self.n, self.k);
        let work = m.saturating_mul(n).saturating_mul(k);
        let threads = rayon::current_num_threads();
        if threads <= 1 || work < PARALLEL_WORK || k == 0 {
            self.drive::<K>(0..m, 0..n, Source::Given(self.a), Source::Given(self.b));
            return;
        }
        size_buffers_on_every_thread::<K>();
        // Split the longer side, so that each part packs only its share of
        // the operand along it. The other operand, when small, is packed
        // once and shared, and the product is cut into several parts per
        // thread: work stealing then hands a busy core fewer of them.
        // Parts are whole multiples of the micro-kernel's tile.
        let split_columns = n >= m;
        let (len, unit, other_packed) = if split_columns {
            (n, K::NR, (m.div_ceil(K::MR) * K::MR).saturating_mul(k))
        } else {
            (m, K::MR, (n.div_ceil(K::NR) * K::NR).saturating_mul(k))
        };
        let share = other_packed <= SHARED_PACK;
        let wanted = if share {
            (work / PART_WORK).clamp(threads, PARTS_PER_THREAD * threads)
        } else {
            threads
        };
        let per_part = len.div_ceil(wanted).div_ceil(unit) * unit;
        let parts = len.div_ceil(per_part);
        let run_parts = |a: Source<'_>, b: Source<'_>| {
            let run_part = |part: usize| {
                let range = part * per_part..((part + 1) * per_part).min(len);
                if split_columns {
                    self.drive::<K>(0..m, range, a, b)
                } else {
                    self.drive::<K>(range, 0..n, a, b)
                }
            };
            in_parallel(0..parts, &run_part);
        };
        if !share {
            run_parts(Source::Given(self.a), Source::Given(self.b));
            return;
        }
        // The shared buffer of this thread; a fresh one if a product that
        // is still running on it holds it (rayon ran this product while
        // that one waits).
        SHARED.with(|shared| {
            let mut fresh = Vec::new();
            let mut held = shared.try_borrow_mut();
            let buffer = match held.as_deref_mut() {
                Ok(buffer) => buffer,
                Err(_) => &mut fresh,
            };
            let buffer = cache_aligned(buffer, other_packed);
            // Block `pc` of depth `kc` takes `side·kc` values, after the
            // previous blocks: blocks are packed side by side on threads.
            let side = if split_columns {
                m.div_ceil(K::MR) * K::MR
            } else {
                n.div_ceil(K::NR) * K::NR
            };
            buffer
                .par_chunks_mut(side * KC)
                .enumerate()
                .for_each(|(block, out)| {
                    let (pc, kc) = (block * KC, out.len() / side);
                    if split_columns {
                        pack::pack_a::<K>(self.a, 0, m, pc, kc, out);
                    } else {
                        pack::pack_b::<K>(self.b, pc, kc, 0, n, out);
                    }
                });
            if split_columns {
                run_parts(Source::Packed(buffer), Source::Given(self.b));
            } else {
                run_parts(Source::Given(self.a), Source::Packed(buffer));
            }
        });
    }
}

/// `len` values of `buffer` (grown if short) starting on a cache line, so
/// that the micro-kernel's loads of packed slivers (a row of B's is one
/// line of 16 values) never straddle two lines. An allocator aligns only
/// to 16 bytes; a large block from `mmap` sits 16 bytes past a page.
fn cache_aligned(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    const LINE: usize = 64 / std::mem::size_of::<f32>();
    if buffer.len() < len + LINE {
        buffer.resize(len + LINE, 0.0);
    }
    let misalignment = buffer.as_ptr().align_offset(64).min(LINE - 1);
    &mut buffer[misalignment..misalignment + len]
}

/// Runs `f` on every index of `parts`, halving the range with `rayon::join`
/// (which, unlike spawning, allocates nothing).
fn in_parallel(parts: Range<usize>, f: &(dyn Fn(usize) + Sync)) {
    if parts.len() <= 1 {
        parts.for_each(f);
        return;
    }
    let middle = parts.start + parts.len() / 2;
    rayon::join(
        || in_parallel(parts.start..middle, f),
        || in_parallel(middle..parts.end, f),
    );
}

/// C as the driver writes it: row-major with row stride `ld`. Threads
/// write disjoint row or column ranges of it.
#[derive(Clone, Copy)]
struct CView {
    ptr: *mut f32,
    ld: usize,
}

// SAFETY: a CView is only handed to threads that write disjoint parts of
// C, while the `&mut [f32]` it came from is borrowed for the whole product.
unsafe impl Send for CView {}
// SAFETY: as above; no two threads touch the same element.
unsafe impl Sync for CView {}

impl CView {
    /// Row `row`, columns `cols` of C.
    ///
    /// # Safety
    /// The range lies inside C and no other live reference covers it.
    #[allow(clippy::mut_from_ref)]
    unsafe fn row(&self, row: usize, cols: Range<usize>) -> &mut [f32] {
        // SAFETY: the caller's contract.
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.add(row * self.ld + cols.start), cols.len())
        }
    }
}

/// Depth of a packed block (a `KC`-long slice of the shared dimension).
const KC: usize = 384;
/// Rows of A packed at once.
const MC: usize = 96;
/// Columns of B packed at once.
const NC: usize = 2048;

thread_local! {
    /// Packing buffers of this thread, and a tile for the edges of C,
    /// grown once and reused.
    static PACKED: RefCell<[Vec<f32>; 4]> =
        const { RefCell::new([Vec::new(), Vec::new(), Vec::new(), Vec::new()]) };
}

thread_local! {
    /// The micro-kernel (`MR·NR`) whose packing buffers every thread of this
    /// thread's pool has sized, 0 for none yet.
    static POOL_SIZED_FOR: Cell<usize> = const { Cell::new(0) };
}

/// A thread's packing buffers for micro-kernel `K` (A's block, B's block,
/// B's streamed sliver, the edge tile), grown on first use; their sizes
/// depend on `K` alone, not on the product.
fn packing_buffers<K: MicroKernel>(
    [packed_a, packed_b, streamed_b, edge]: &mut [Vec<f32>; 4],
) -> [&mut [f32]; 4] {
    // Not zeroed on each call: a tile's values are written before they are
    // read, or read only into values that are thrown away.
    if edge.len() < K::MR * K::NR {
        edge.resize(K::MR * K::NR, 0.0);
    }
    [
        cache_aligned(packed_a, MC.div_ceil(K::MR) * K::MR * KC),
        cache_aligned(packed_b, NC.div_ceil(K::NR) * K::NR * KC),
        cache_aligned(streamed_b, K::NR * KC),
        edge,
    ]
}

/// Sizes the packing buffers of every thread of the current pool for `K`,
/// the first time this thread splits a product: a part may land on any
/// thread, and a thread that ran none so far would otherwise allocate its
/// buffers in the middle of training, steps after the others.
fn size_buffers_on_every_thread<K: MicroKernel>() {
    if POOL_SIZED_FOR.get() == K::MR * K::NR {
        return;
    }
    rayon::broadcast(|_| {
        PACKED.with(|packed| {
            // A thread inside `drive` (waiting for a nested product) has
            // its buffers sized already.
            if let Ok(mut buffers) = packed.try_borrow_mut() {
                packing_buffers::<K>(&mut buffers);
            }
        });
    });
    POOL_SIZED_FOR.set(K::MR * K::NR);
}

impl Product<'_> {
    /// Computes rows `rows`, columns `cols` of C.
    fn drive<K: MicroKernel>(
        &self,
        rows: Range<usize>,
        cols: Range<usize>,
        a: Source<'_>,
        b: Source<'_>,
    ) {
        let (k, c, accumulate, epilogue) = (self.k, self.c, self.accumulate, self.epilogue);
        if k == 0 {
            for i in rows {
                // SAFETY: this thread owns rows × cols of C.
                let row = unsafe { c.row(i, cols.clone()) };
                if !accumulate {
                    row.fill(0.0);
                }
                epilogue.apply(i, cols.start, row);
            }
            return;
        }
        PACKED.with(|packed| {
            let mut buffers = packed.borrow_mut();
            let [packed_a, packed_b, streamed_b, edge] = packing_buffers::<K>(&mut buffers);
            // With one block of rows, each sliver of B is used once, right
            // after it is packed: pack it then, into a buffer that stays in
            // L1, instead of packing the whole block out to a far cache first.
            let streamed = match b {
                Source::Given(b) if rows.len() <= MC => Some(b),
                _ => None,
            };
            for jc in cols.clone().step_by(NC) {
                let nc = NC.min(cols.end - jc);
                for pc in (0..k).step_by(KC) {
                    let kc = KC.min(k - pc);
                    let first = pc == 0 && !accumulate;
                    let last = pc + kc == k;
                    let packed_b: &[f32] = match b {
                        Source::Given(_) if streamed.is_some() => &[],
                        Source::Given(b) => {
                            pack::pack_b::<K>(b, pc, kc, jc, nc, packed_b);
                            packed_b
                        }
                        // All columns packed, block `pc` after the previous blocks.
                        Source::Packed(all) => {
                            &all[pc * self.n.div_ceil(K::NR) * K::NR + jc * kc..]
                        }
                    };
                    for ic in rows.clone().step_by(MC) {
                        let mc = MC.min(rows.end - ic);
                        let packed_a: &[f32] = match a {
                            Source::Given(a) => {
                                pack::pack_a::<K>(a, ic, mc, pc, kc, packed_a);
                                packed_a
                            }
                            // All rows packed, block `pc` after the previous blocks.
                            Source::Packed(all) => {
                                &all[pc * self.m.div_ceil(K::MR) * K::MR + ic * kc..]
                            }
                        };
                        let mut run_tile = |ir: usize, jr: usize, b_sliver: (&[f32], usize)| {
                            let (mr, nr) = (K::MR.min(mc - ir), K::NR.min(nc - jr));
                            let a_sliver = &packed_a[ir / K::MR * K::MR * kc..][..K::MR * kc];
                            // SAFETY: the tile's rows and columns inside C lie in
                            // this thread's part of it; the slivers hold MR·kc and
                            // NR·kc packed values.
                            unsafe {
                                tile::<K>(
                                    c,
                                    (ic + ir, jc + jr),
                                    (mr, nr),
                                    (kc, a_sliver, b_sliver),
                                    first,
                                    edge,
                                )
                            };
                        };
                        match streamed {
                            // B's block is packed whole: go along C's rows, a band
                            // of MR rows at a time, so that the stores stay on a
                            // few pages (C's rows may lie pages apart).
                            None => {
                                for ir in (0..mc).step_by(K::MR) {
                                    for jr in (0..nc).step_by(K::NR) {
                                        let b_sliver = &packed_b[jr / K::NR * K::NR * kc..];
                                        run_tile(ir, jr, (&b_sliver[..K::NR * kc], K::NR));
                                    }
                                }
                            }
                            // Each sliver of B right after it is packed (or read in
                            // place), down the block.
                            Some(b) => {
                                for jr in (0..nc).step_by(K::NR) {
                                    let nr = K::NR.min(nc - jr);
                                    let b_sliver = match b {
                                        // A whole sliver of a B stored by rows: read in
                                        // place (it holds the `kc` rows of `NR` values
                                        // the kernel reads).
                                        Operand::Strided(b)
                                            if nr == K::NR
                                                && b.col_stride == 1
                                                && b.data.len()
                                                    >= (pc + kc - 1) * b.row_stride
                                                        + jc
                                                        + jr
                                                        + K::NR =>
                                        {
                                            (&b.data[pc * b.row_stride + jc + jr..], b.row_stride)
                                        }
                                        _ => {
                                            pack::pack_b::<K>(b, pc, kc, jc + jr, nr, streamed_b);
                                            (&streamed_b[..K::NR * kc], K::NR)
                                        }
                                    };
                                    for ir in (0..mc).step_by(K::MR) {
                                        run_tile(ir, jr, b_sliver);
                                    }
                                }
                            }
                        }
                        if last {
                            // The block is finished and still in cache.
                            for i in ic..ic + mc {
                                // SAFETY: inside this thread's part of C.
                                epilogue.apply(i, jc, unsafe { c.row(i, jc..jc + nc) });
                            }
                        }
                    }
                }
            }
        });
    }
}

/// One `MR×NR` tile of C at `(row0, col0)`, of which `mr×nr` lie inside C:
/// by the micro-kernel in place when whole, by its shorter variant at the
/// bottom edge, else computed into `scratch` and copied in part.
///
/// # Safety
/// The `mr×nr` values of C at `(row0, col0)` belong to this thread; the
/// slivers hold `MR·kc` and `NR·kc` values; the CPU runs `K`.
unsafe fn tile<K: MicroKernel>(
    c: CView,
    (row0, col0): (usize, usize),
    (mr, nr): (usize, usize),
    (kc, a_sliver, b_sliver): (usize, &[f32], (&[f32], usize)),
    first: bool,
    scratch: &mut [f32],
) {
    // SAFETY: (row0, col0) is inside C.
    let at = unsafe { c.ptr.add(row0 * c.ld + col0) };
    if nr == K::NR {
        // SAFETY: the caller's contract; `mr` rows of `NR` values at `at`.
        unsafe {
            if mr == K::MR {
                K::run(kc, a_sliver, b_sliver, at, c.ld, !first);
                return;
            }
            if K::run_rows(mr, kc, a_sliver, b_sliver, at, c.ld, !first) {
                return;
            }
        }
    }
    let t = &mut scratch[..K::MR * K::NR];
    for i in 0..mr {
        // SAFETY: inside this thread's part of C.
        let row = unsafe { c.row(row0 + i, col0..col0 + nr) };
        for (j, &v) in row.iter().enumerate() {
            t[i * K::NR + j] = if first { 0.0 } else { v };
        }
    }
    // SAFETY: `t` holds MR×NR values with row stride NR.
    unsafe { K::run(kc, a_sliver, b_sliver, t.as_mut_ptr(), K::NR, !first) };
    for i in 0..mr {
        // SAFETY: inside this thread's part of C.
        let row = unsafe { c.row(row0 + i, col0..col0 + nr) };
        row.copy_from_slice(&t[i * K::NR..][..nr]);
    }
}
