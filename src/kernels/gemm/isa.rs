//! The instruction sets the kernels run on, detected once.

use std::sync::OnceLock;

/// An instruction set a kernel can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Plain Rust, vectorized by the compiler for the baseline target.
    Portable,
    /// AVX2 with FMA (x86-64).
    Avx2,
    /// AVX-512F (x86-64).
    Avx512,
}

impl Isa {
    /// Every instruction set this CPU runs, slowest first.
    pub fn available() -> Vec<Isa> {
        let mut isas = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                isas.push(Isa::Avx2);
            }
            if is_x86_feature_detected!("avx512f") {
                isas.push(Isa::Avx512);
            }
        }
        isas
    }

    /// Whether this CPU runs it (detected once per process).
    pub fn runs_here(self) -> bool {
        static AVAILABLE: OnceLock<Vec<Isa>> = OnceLock::new();
        AVAILABLE.get_or_init(Isa::available).contains(&self)
    }

    /// The instruction set the kernels use: the best available, or the one
    /// named by `KEELNET_SIMD` (`portable`, `avx2`, `avx512`) if this CPU
    /// runs it. Decided once per process.
    ///
    /// ```
    /// use keelnet::kernels::Isa;
    /// assert!(Isa::available().contains(&Isa::selected()));
    /// ```
    pub fn selected() -> Isa {
        static SELECTED: OnceLock<Isa> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            let available = Isa::available();
            let best = *available.last().unwrap_or(&Isa::Portable);
            let wanted = match std::env::var("KEELNET_SIMD").as_deref() {
                Ok("portable") => Isa::Portable,
                Ok("avx2") => Isa::Avx2,
                Ok("avx512") => Isa::Avx512,
                _ => best,
            };
            if available.contains(&wanted) {
                wanted
            } else {
                best
            }
        })
    }
}
