//! Elementwise passes over parameter-sized slices (the optimizers' updates):
//! split over threads when long, each part compiled for AVX2 when the CPU
//! has it.
//!
//! The arithmetic of a pass is written once, as a plain loop in an
//! `#[inline(always)]` closure; [`for_each_part`] inlines it into a copy of
//! itself compiled with AVX2 enabled, where the compiler vectorizes it eight
//! lanes wide instead of the baseline's four. No operation changes (no fused
//! multiply-add is formed), so every path gives the same bits.

use super::Isa;

/// Slices walked in step: a tuple of `&[F]` and `&mut [F]` of one length.
///
/// ```
/// use keelnet::kernels::Parts;
/// let (mut y, x) = ([0.0f32; 4], [1.0f32; 4]);
/// let (head, tail) = (&mut y[..], &x[..]).split_at(1);
/// assert_eq!((head.len(), tail.len()), (1, 3));
/// ```
pub trait Parts: Send + Sized {
    /// Elements in each slice.
    fn len(&self) -> usize;
    /// Whether the slices are empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The first `mid` elements of each slice, and the rest.
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl<F: Sync> Parts for &[F] {
    fn len(&self) -> usize {
        <[F]>::len(self)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[F]>::split_at(self, mid)
    }
}

impl<F: Send> Parts for &mut [F] {
    fn len(&self) -> usize {
        <[F]>::len(self)
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }
}

macro_rules! tuple_parts {
    ($($name:ident),+) => {
        impl<$($name: Parts),+> Parts for ($($name,)+) {
            fn len(&self) -> usize {
                #[allow(non_snake_case)]
                let ($($name,)+) = self;
                [$($name.len()),+].into_iter().min().unwrap_or(0)
            }
            fn split_at(self, mid: usize) -> (Self, Self) {
                #[allow(non_snake_case)]
                let ($($name,)+) = self;
                $(#[allow(non_snake_case)] let $name = $name.split_at(mid);)+
                (($($name.0,)+), ($($name.1,)+))
            }
        }
    };
}

tuple_parts!(A, B);
tuple_parts!(A, B, C);
tuple_parts!(A, B, C, D);

/// Elements below which a pass stays on one thread (a part is at least
/// this long).
const PART: usize = 1 << 14;

/// Runs `body` over `parts`, halved with `rayon::join` down to parts of at
/// least 16,384 elements, each part on the selected instruction set.
/// Work stealing hands the halves out, so a busy core just takes fewer.
///
/// ```
/// use keelnet::kernels::for_each_part;
/// let (mut y, x) = (vec![1.0f32; 100_000], vec![2.0f32; 100_000]);
/// for_each_part((&mut y[..], &x[..]), #[inline(always)] |(y, x): (&mut [f32], &[f32])| {
///     for (y, x) in y.iter_mut().zip(x) {
///         *y += x;
///     }
/// });
/// assert!(y.iter().all(|&y| y == 3.0));
/// ```
pub fn for_each_part<P: Parts, B: Fn(P) + Sync>(parts: P, body: B) {
    split(parts, &body);
}

/// [`for_each_part`] on a borrowed body.
fn split<P: Parts, B: Fn(P) + Sync>(parts: P, body: &B) {
    let len = parts.len();
    if len >= 2 * PART {
        // Halves rounded to 64 elements, keeping each part's start aligned.
        let (first, second) = parts.split_at(len / 2 / 64 * 64);
        rayon::join(|| split(first, body), || split(second, body));
        return;
    }
    vectorized(
        #[inline(always)]
        || body(parts),
    );
}

/// Runs `f`, inlined into a copy compiled for AVX2 when the CPU has it
/// (and the selected instruction set allows it): plain loops in `f` then
/// vectorize eight lanes wide. Mark `f` `#[inline(always)]`.
///
/// ```
/// let sum: f32 = keelnet::kernels::vectorized(#[inline(always)] || (0..100).map(|i| i as f32).sum());
/// assert_eq!(sum, 4950.0);
/// ```
pub fn vectorized<R, B: FnOnce() -> R>(f: B) -> R {
    if Isa::selected() >= Isa::Avx2 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU runs AVX2 and FMA (`Isa::selected` checked).
        return unsafe { on_avx2(f) };
    }
    f()
}

/// Runs `f(true)` inlined into a copy compiled for AVX-512 when that is the
/// selected instruction set, else `f(false)` as [`vectorized`] runs it: for
/// loops whose blocking depends on the vector width.
pub(crate) fn vectorized_wide<R, B: FnOnce(bool) -> R>(f: B) -> R {
    #[cfg(target_arch = "x86_64")]
    if Isa::selected() == Isa::Avx512 {
        // SAFETY: the CPU runs AVX-512F (`Isa::selected` checked), and with it AVX2 and FMA.
        return unsafe { on_avx512(|| f(true)) };
    }
    vectorized(
        #[inline(always)]
        || f(false),
    )
}

/// `f()`, with `f` inlined and compiled for AVX-512.
///
/// # Safety
/// The CPU runs AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn on_avx512<R, B: FnOnce() -> R>(f: B) -> R {
    f()
}

/// `f()`, with `f` inlined and compiled for AVX2.
///
/// # Safety
/// The CPU runs AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn on_avx2<R, B: FnOnce() -> R>(f: B) -> R {
    f()
}
