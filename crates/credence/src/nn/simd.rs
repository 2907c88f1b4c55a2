//! Element types, instruction-set dispatch and vectorised elementary functions for the MLP
//! engine's kernels.
//!
//! Kernels are written once over fixed-size arrays (`[T; N]`, N a multiple of the vector width)
//! and compiled several times: inside `#[target_feature]` wrappers for AVX-512 and for AVX2+FMA,
//! and once for the baseline target (the portable fallback). The instruction set is chosen at run
//! time with `is_x86_feature_detected!`, so one binary runs everywhere without
//! `-C target-cpu=native`.
//!
//! Accuracy of the vectorised functions (tested against libm over dense grids in
//! `tests/kernels.rs`): f64 `tanh` and `exp` have a maximum relative error ≤ 1e-14 against
//! libm; f32 `tanh` and `exp` are within 4e-7 relative (≈ 3 ulp).
#![allow(clippy::needless_range_loop, clippy::excessive_precision)]

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub};
use std::sync::OnceLock;

/// Instruction set used by the engine's kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// AVX-512F (with DQ, BW, VL) and FMA: 512-bit vectors.
    Avx512,
    /// AVX2 with FMA: 256-bit vectors.
    Avx2,
    /// Portable code compiled for the baseline target (no runtime-detected extensions).
    Scalar,
}

impl Isa {
    /// The best instruction set this CPU supports (detected once).
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if std::env::var("CREDENCE_ISA").is_ok_and(|v| v == "scalar") {
                    return Isa::Scalar;
                }
                let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
                if avx2
                    && !std::env::var("CREDENCE_ISA").is_ok_and(|v| v == "avx2")
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512dq")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                {
                    return Isa::Avx512;
                }
                if avx2 {
                    return Isa::Avx2;
                }
            }
            Isa::Scalar
        })
    }

    /// Every instruction set this CPU can run (always includes `Scalar`), best first.
    pub fn available() -> Vec<Isa> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            if avx2
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
            {
                v.push(Isa::Avx512);
            }
            if avx2 {
                v.push(Isa::Avx2);
            }
        }
        v.push(Isa::Scalar);
        v
    }

    /// This instruction set if the CPU supports it, otherwise `Scalar` (keeps dispatch sound).
    #[inline]
    pub fn usable(self) -> Isa {
        static AVAILABLE: OnceLock<Vec<Isa>> = OnceLock::new();
        if AVAILABLE.get_or_init(Isa::available).contains(&self) {
            self
        } else {
            Isa::Scalar
        }
    }

    /// Short name (`avx512`, `avx2`, `scalar`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Scalar => "scalar",
        }
    }
}

impl Default for Isa {
    fn default() -> Self {
        Isa::detect()
    }
}

/// A floating-point element type the engine runs in (`f64` by default, `f32` optional).
pub trait Real:
    Copy
    + Send
    + Sync
    + Default
    + Debug
    + PartialOrd
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + MulAssign
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Whether this is `f64` (selects tile sizes).
    const IS_F64: bool;
    /// Converts from f64 (rounding).
    fn from_f64(v: f64) -> Self;
    /// Converts to f64 (exact).
    fn to_f64(self) -> f64;
    /// `a·b + c`, fused when `FMA` (only use `FMA = true` where the target has FMA).
    fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self;
    /// In place `z ← tanh z`, `d ← 1 − tanh² z` on a block.
    fn tanh_block<const N: usize, const FMA: bool>(z: &mut [Self; N], d: &mut [Self; N]);
    /// Register type on AVX-512 (implementation detail of the kernels).
    #[doc(hidden)]
    type V512: Simd<T = Self>;
    /// Register type on AVX2 (implementation detail of the kernels).
    #[doc(hidden)]
    type V256: Simd<T = Self>;
    /// Register type of the portable path (implementation detail of the kernels).
    #[doc(hidden)]
    type V1: Simd<T = Self>;
    /// In place `z ← exp z` on a block (results below e^−708 (f64) / e^−87 (f32) flush to 0).
    fn exp_block<const N: usize, const FMA: bool>(z: &mut [Self; N]);
}

#[inline(always)]
fn fma64<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
fn fma32<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

// ---------------------------------------------------------------- f64 exp and tanh
const LOG2E: f64 = std::f64::consts::LOG2_E;
// ln 2 split so that n·LN2_HI is exact for |n| < 2^11 (Cephes).
const LN2_HI: f64 = 6.931_457_519_531_25E-1;
const LN2_LO: f64 = 1.428_606_820_309_417_232_12E-6;
const SHIFT64: f64 = 6_755_399_441_055_744.0; // 1.5·2^52: adding it rounds to an integer
/// 1/k! for k = 12 down to 2 (Taylor series of exp on |r| ≤ ln2/2: truncation < 2e-16).
const EXP64: [f64; 11] = [
    2.087_675_698_786_809_9e-9,
    2.505_210_838_544_171_8e-8,
    2.755_731_922_398_589_3e-7,
    2.755_731_922_398_589_1e-6,
    2.480_158_730_158_730_2e-5,
    1.984_126_984_126_984_1e-4,
    1.388_888_888_888_888_9e-3,
    8.333_333_333_333_333_2e-3,
    4.166_666_666_666_666_4e-2,
    1.666_666_666_666_666_6e-1,
    0.5,
];

/// exp(y) for y in [−708, 709] (reduced argument, Taylor polynomial, exponent by bits).
#[inline(always)]
fn exp64_core<const FMA: bool>(y: f64) -> f64 {
    let t = fma64::<FMA>(y, LOG2E, SHIFT64);
    let n = t - SHIFT64;
    let r = fma64::<FMA>(n, -LN2_HI, y);
    let r = fma64::<FMA>(n, -LN2_LO, r);
    let mut p = EXP64[0];
    for c in &EXP64[1..] {
        p = fma64::<FMA>(p, r, *c);
    }
    p = fma64::<FMA>(p, r, 1.0);
    p = fma64::<FMA>(p, r, 1.0);
    // 2^n from the low bits of t (which hold n as an integer).
    let scale = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
    p * scale
}

/// expm1(r) = r + r²·Q(r) on |r| ≤ ln2/2: Q of degree 9, highest power first, fitted to
/// minimise the relative error of expm1 (≈ 8e-16 with Horner in f64, against 1e-15 for the
/// degree-11 Taylor polynomial it replaces).
const EXPM1_64: [f64; 10] = [
    2.320_980_861_274_749e-8,
    2.761_110_652_151_038e-7,
    2.756_338_123_033_564e-6,
    2.480_155_222_115_982_7e-5,
    1.984_126_294_362_567_5e-4,
    1.388_888_888_302_331_2e-3,
    8.333_333_336_497_994e-3,
    4.166_666_666_674_483e-2,
    1.666_666_666_666_217_2e-1,
    0.499_999_999_999_999_7,
];
const SIGN64: u64 = 1 << 63;

impl Real for f64 {
    #[cfg(target_arch = "x86_64")]
    type V512 = Avx512F64;
    #[cfg(target_arch = "x86_64")]
    type V256 = Avx2F64;
    #[cfg(not(target_arch = "x86_64"))]
    type V512 = S64;
    #[cfg(not(target_arch = "x86_64"))]
    type V256 = S64;
    type V1 = S64;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const IS_F64: bool = true;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self {
        fma64::<FMA>(a, b, c)
    }

    #[inline(always)]
    fn tanh_block<const N: usize, const FMA: bool>(z: &mut [f64; N], d: &mut [f64; N]) {
        // With e = expm1(2|x|) and q = 1/(e + 2): tanh|x| = e·q and 1 − tanh² = 4q(1 − q).
        // Both are free of cancellation for every |x| (e ≥ 0, q ≤ ½), need one division, and
        // e ≈ 2|x| keeps full relative accuracy near 0. |x| is clamped at 350 so that e stays
        // finite (tanh is ±1 there and 1 − tanh² ≈ 4e^(−2|x|) stays accurate); the comparison
        // keeps NaN as NaN.
        for i in 0..N {
            let x = z[i];
            let ax = f64::from_bits(x.to_bits() & !SIGN64);
            let ax = if ax > 350.0 { 350.0 } else { ax };
            let y = ax + ax;
            // y = n·ln2 + r, |r| ≤ ln2/2; expm1(y) = 2ⁿ·expm1(r) + (2ⁿ − 1), both terms ≥ 0.
            let t = fma64::<FMA>(y, LOG2E, SHIFT64);
            let n = t - SHIFT64;
            let r = fma64::<FMA>(n, -LN2_HI, y);
            let r = fma64::<FMA>(n, -LN2_LO, r);
            let mut p = EXPM1_64[0];
            for c in &EXPM1_64[1..] {
                p = fma64::<FMA>(p, r, *c);
            }
            let em1 = fma64::<FMA>(p, r * r, r);
            let scale = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
            let e = fma64::<FMA>(scale, em1, scale - 1.0);
            let q = 1.0 / (e + 2.0);
            let th = e * q;
            let q4 = 4.0 * q;
            d[i] = fma64::<FMA>(-q4, q, q4);
            z[i] = f64::from_bits(th.to_bits() | (x.to_bits() & SIGN64));
        }
    }

    #[inline(always)]
    fn exp_block<const N: usize, const FMA: bool>(z: &mut [f64; N]) {
        for i in 0..N {
            let x = z[i];
            let y = x.clamp(-708.0, 709.0);
            let e = exp64_core::<FMA>(y);
            z[i] = if x > 709.78 {
                f64::INFINITY
            } else if x < -708.0 {
                0.0
            } else {
                e
            };
        }
    }
}

// ---------------------------------------------------------------- f32 exp and tanh
const LN2_HI32: f32 = 0.693_359_375;
const LN2_LO32: f32 = -2.121_944_4e-4;
const SHIFT32: f32 = 12_582_912.0; // 1.5·2^23
/// 1/k! for k = 7 down to 2.
const EXP32: [f32; 6] = [
    1.984_127e-4,
    1.388_888_9e-3,
    8.333_334e-3,
    4.166_666_8e-2,
    1.666_666_7e-1,
    0.5,
];
const SIGN32: u32 = 1 << 31;

#[inline(always)]
fn exp32_core<const FMA: bool>(y: f32) -> f32 {
    let t = fma32::<FMA>(y, std::f32::consts::LOG2_E, SHIFT32);
    let n = t - SHIFT32;
    let r = fma32::<FMA>(n, -LN2_HI32, y);
    let r = fma32::<FMA>(n, -LN2_LO32, r);
    let mut p = EXP32[0];
    for c in &EXP32[1..] {
        p = fma32::<FMA>(p, r, *c);
    }
    p = fma32::<FMA>(p, r, 1.0);
    p = fma32::<FMA>(p, r, 1.0);
    let scale = f32::from_bits(t.to_bits().wrapping_add(127) << 23);
    p * scale
}

impl Real for f32 {
    #[cfg(target_arch = "x86_64")]
    type V512 = Avx512F32;
    #[cfg(target_arch = "x86_64")]
    type V256 = Avx2F32;
    #[cfg(not(target_arch = "x86_64"))]
    type V512 = S32;
    #[cfg(not(target_arch = "x86_64"))]
    type V256 = S32;
    type V1 = S32;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const IS_F64: bool = false;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self {
        fma32::<FMA>(a, b, c)
    }

    #[inline(always)]
    fn tanh_block<const N: usize, const FMA: bool>(z: &mut [f32; N], d: &mut [f32; N]) {
        // The f64 construction (see there) with the f32 reduction and a degree-6 expm1.
        for i in 0..N {
            let x = z[i];
            let ax = f32::from_bits(x.to_bits() & !SIGN32);
            let ax = if ax > 43.0 { 43.0 } else { ax };
            let y = ax + ax;
            let t = fma32::<FMA>(y, std::f32::consts::LOG2_E, SHIFT32);
            let n = t - SHIFT32;
            let r = fma32::<FMA>(n, -LN2_HI32, y);
            let r = fma32::<FMA>(n, -LN2_LO32, r);
            // Q of degree 4 fitted like the f64 one (expm1 relative error ≈ 1.3e-8).
            let mut p = 1.388_251_3e-3;
            for c in [8.366_514_5e-3, 4.166_72e-2, 1.666_654_4e-1, 0.499_999_98] {
                p = fma32::<FMA>(p, r, c);
            }
            let em1 = fma32::<FMA>(p, r * r, r);
            let scale = f32::from_bits(t.to_bits().wrapping_add(127) << 23);
            let e = fma32::<FMA>(scale, em1, scale - 1.0);
            let q = 1.0 / (e + 2.0);
            let th = e * q;
            let q4 = 4.0 * q;
            d[i] = fma32::<FMA>(-q4, q, q4);
            z[i] = f32::from_bits(th.to_bits() | (x.to_bits() & SIGN32));
        }
    }

    #[inline(always)]
    fn exp_block<const N: usize, const FMA: bool>(z: &mut [f32; N]) {
        for i in 0..N {
            let x = z[i];
            let y = x.clamp(-87.0, 88.0);
            let e = exp32_core::<FMA>(y);
            z[i] = if x > 88.72 {
                f32::INFINITY
            } else if x < -87.0 {
                0.0
            } else {
                e
            };
        }
    }
}

// ---------------------------------------------------------------- explicit vectors for GEMM tiles

/// A SIMD register of `LANES` elements, as the GEMM tiles use it. Implementations for AVX-512
/// and AVX2 use `std::arch` intrinsics and must only run inside functions compiled with those
/// features (the kernels' dispatch guarantees it); the scalar one is a single element.
#[doc(hidden)]
pub trait Simd: Copy {
    /// Element type.
    type T: Real;
    /// The half-width register of the same instruction set, for short tails (itself where
    /// there is none).
    type Half: Simd<T = Self::T>;
    /// Elements per register.
    const LANES: usize;
    /// All lanes zero.
    unsafe fn zero() -> Self;
    /// All lanes `v`.
    unsafe fn splat(v: Self::T) -> Self;
    /// Loads `LANES` elements.
    unsafe fn load(p: *const Self::T) -> Self;
    /// Loads the first `n < LANES` elements, the rest zero.
    unsafe fn load_partial(p: *const Self::T, n: usize) -> Self;
    /// Stores `LANES` elements.
    unsafe fn store(self, p: *mut Self::T);
    /// Stores the first `n < LANES` elements.
    unsafe fn store_partial(self, p: *mut Self::T, n: usize);
    /// `a·b + c`.
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
    /// `a·b`.
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// Sum of the lanes.
    unsafe fn hsum(self) -> Self::T;
    /// Whether [`Simd::tanh`] is implemented (otherwise the kernels use `Real::tanh_block`).
    const HAS_TANH: bool = false;
    /// `(tanh x, 1 − tanh² x)` lane by lane (only where `HAS_TANH`).
    #[inline(always)]
    unsafe fn tanh(self) -> (Self, Self) {
        (self, self)
    }
}

macro_rules! scalar_simd {
    ($name:ident, $t:ty) => {
        /// One element, for the portable path.
        #[derive(Clone, Copy)]
        #[doc(hidden)]
        pub struct $name($t);
        impl Simd for $name {
            type T = $t;
            type Half = $name;
            const LANES: usize = 1;
            #[inline(always)]
            unsafe fn zero() -> Self {
                $name(0.0)
            }
            #[inline(always)]
            unsafe fn splat(v: $t) -> Self {
                $name(v)
            }
            #[inline(always)]
            unsafe fn load(p: *const $t) -> Self {
                $name(*p)
            }
            #[inline(always)]
            unsafe fn load_partial(_p: *const $t, _n: usize) -> Self {
                $name(0.0)
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $t) {
                *p = self.0;
            }
            #[inline(always)]
            unsafe fn store_partial(self, _p: *mut $t, _n: usize) {}
            #[inline(always)]
            unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
                $name(a.0 * b.0 + c.0)
            }
            #[inline(always)]
            unsafe fn mul(a: Self, b: Self) -> Self {
                $name(a.0 * b.0)
            }
            #[inline(always)]
            unsafe fn hsum(self) -> $t {
                self.0
            }
        }
    };
}
scalar_simd!(S64, f64);
scalar_simd!(S32, f32);

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2F32, Avx2F64, Avx512F32, Avx512F32Y, Avx512F64, Avx512F64Y};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Simd;
    use std::arch::x86_64::*;

    /// 8 × f64 in a zmm register.
    #[derive(Clone, Copy)]
    #[doc(hidden)]
    pub struct Avx512F64(__m512d);
    /// 16 × f32 in a zmm register.
    #[derive(Clone, Copy)]
    #[doc(hidden)]
    pub struct Avx512F32(__m512);
    /// 4 × f64 in a ymm register.
    #[derive(Clone, Copy)]
    #[doc(hidden)]
    pub struct Avx2F64(__m256d);
    /// 4 × f64 in a ymm register with AVX-512VL masked loads and stores (tails of AVX-512 tiles).
    #[derive(Clone, Copy)]
    #[doc(hidden)]
    pub struct Avx512F64Y(__m256d);
    /// 8 × f32 in a ymm register with AVX-512VL masked loads and stores (tails of AVX-512 tiles).
    #[derive(Clone, Copy)]
    #[doc(hidden)]
    pub struct Avx512F32Y(__m256);

    macro_rules! ymm_vl {
        ($name:ident, $t:ty, $lanes:expr, $mask:ty, $zero:ident, $set1:ident, $load:ident,
         $mload:ident, $store:ident, $mstore:ident, $fma:ident, $mul:ident, $half:ident) => {
            impl Simd for $name {
                type T = $t;
                type Half = $half;
                const LANES: usize = $lanes;
                #[inline(always)]
                unsafe fn zero() -> Self {
                    Self($zero())
                }
                #[inline(always)]
                unsafe fn splat(v: $t) -> Self {
                    Self($set1(v))
                }
                #[inline(always)]
                unsafe fn load(p: *const $t) -> Self {
                    Self($load(p))
                }
                #[inline(always)]
                unsafe fn load_partial(p: *const $t, n: usize) -> Self {
                    Self($mload(((1u32 << n) - 1) as $mask, p))
                }
                #[inline(always)]
                unsafe fn store(self, p: *mut $t) {
                    $store(p, self.0)
                }
                #[inline(always)]
                unsafe fn store_partial(self, p: *mut $t, n: usize) {
                    $mstore(p, ((1u32 << n) - 1) as $mask, self.0)
                }
                #[inline(always)]
                unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
                    Self($fma(a.0, b.0, c.0))
                }
                #[inline(always)]
                unsafe fn mul(a: Self, b: Self) -> Self {
                    Self($mul(a.0, b.0))
                }
                #[inline(always)]
                unsafe fn hsum(self) -> $t {
                    let mut t = [0.0 as $t; $lanes];
                    $store(t.as_mut_ptr(), self.0);
                    t.iter().sum()
                }
            }
        };
    }
    ymm_vl!(
        Avx512F64Y,
        f64,
        4,
        u8,
        _mm256_setzero_pd,
        _mm256_set1_pd,
        _mm256_loadu_pd,
        _mm256_maskz_loadu_pd,
        _mm256_storeu_pd,
        _mm256_mask_storeu_pd,
        _mm256_fmadd_pd,
        _mm256_mul_pd,
        Avx512F64Y
    );
    ymm_vl!(
        Avx512F32Y,
        f32,
        8,
        u8,
        _mm256_setzero_ps,
        _mm256_set1_ps,
        _mm256_loadu_ps,
        _mm256_maskz_loadu_ps,
        _mm256_storeu_ps,
        _mm256_mask_storeu_ps,
        _mm256_fmadd_ps,
        _mm256_mul_ps,
        Avx512F32Y
    );
    /// 8 × f32 in a ymm register.
    #[derive(Clone, Copy)]
    #[doc(hidden)]
    pub struct Avx2F32(__m256);

    impl Simd for Avx512F64 {
        type T = f64;
        type Half = Avx512F64Y;
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> Self {
            Self(_mm512_setzero_pd())
        }
        #[inline(always)]
        unsafe fn splat(v: f64) -> Self {
            Self(_mm512_set1_pd(v))
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            Self(_mm512_loadu_pd(p))
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f64, n: usize) -> Self {
            Self(_mm512_maskz_loadu_pd(((1u32 << n) - 1) as u8, p))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f64) {
            _mm512_storeu_pd(p, self.0)
        }
        #[inline(always)]
        unsafe fn store_partial(self, p: *mut f64, n: usize) {
            _mm512_mask_storeu_pd(p, ((1u32 << n) - 1) as u8, self.0)
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            Self(_mm512_fmadd_pd(a.0, b.0, c.0))
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            Self(_mm512_mul_pd(a.0, b.0))
        }
        #[inline(always)]
        unsafe fn hsum(self) -> f64 {
            _mm512_reduce_add_pd(self.0)
        }
        const HAS_TANH: bool = true;
        #[inline(always)]
        unsafe fn tanh(self) -> (Self, Self) {
            let (t, d) = tanh512(self.0);
            (Self(t), Self(d))
        }
    }

    /// 2^(j/16) − 1 for j = 0..16, correctly rounded.
    const TM1: [f64; 16] = [
        0.0,
        0.044_273_782_427_413_84,
        0.090_507_732_665_257_66,
        0.138_788_634_756_691_65,
        0.189_207_115_002_721_05,
        0.241_857_812_073_484_06,
        0.296_839_554_651_009_64,
        0.354_255_546_936_892_7,
        0.414_213_562_373_095_03,
        0.476_826_145_939_499_3,
        0.542_210_825_407_940_9,
        0.610_490_331_949_254_3,
        0.681_792_830_507_429_1,
        0.756_252_160_373_299_5,
        0.834_008_086_409_342_4,
        0.915_206_561_397_147_3,
    ];

    /// Table-driven f64 tanh and 1 − tanh² on 8 lanes (AVX-512F).
    ///
    /// With y = 2|x| = (16n + j)·ln2/16 + r, |r| ≤ ln2/32, e = expm1(y) is assembled from
    /// 2ⁿ, the table entry 2^(j/16) − 1 (picked by `vpermt2pd` from two registers with the low
    /// bits of the rounded y·16/ln2) and expm1(r) = r + r²·Q(r), Q the degree-5 Taylor
    /// polynomial (truncation error < 6e-17 relative on |r| ≤ ln2/32). Everything is kept at
    /// half scale, E = e/2, so that with h = 1/(E + 1) = 2/(e + 2): tanh|x| = E·h and
    /// 1 − tanh² = h·(2 − h) — one division and no cancellation for any |x| (E ≥ 0, h ≤ 1).
    /// The reduction uses ln 2 rounded to f64 in one FMA: its error grows as y·1e-17, i.e.
    /// ≤ 2e-15 relative in 1 − tanh² for |x| ≤ 25 (tanh itself is then 1 to the last bit);
    /// |x| is clamped at 350 so that e stays finite. Observed on the test grid: tanh ≤ 4.5e-16,
    /// 1 − tanh² ≤ 2.1e-15 relative to libm.
    #[inline(always)]
    unsafe fn tanh512(x: __m512d) -> (__m512d, __m512d) {
        let sign = _mm512_set1_pd(-0.0);
        let ax = _mm512_andnot_pd(sign, x);
        // min(350, NaN) is NaN: the operand order keeps NaN.
        let ax = _mm512_min_pd(_mm512_set1_pd(350.0), ax);
        let y = _mm512_add_pd(ax, ax);
        // t = 1.5·2⁴⁸ + round(16·y/ln2)/16: its low mantissa bits hold N = 16n + j.
        let shift = _mm512_set1_pd(1.5 * (1u64 << 48) as f64);
        let t = _mm512_fmadd_pd(y, _mm512_set1_pd(std::f64::consts::LOG2_E), shift);
        let nf = _mm512_sub_pd(t, shift);
        let r = _mm512_fnmadd_pd(nf, _mm512_set1_pd(std::f64::consts::LN_2), y);
        let lo = _mm512_loadu_pd(TM1.as_ptr());
        let hi = _mm512_loadu_pd(TM1.as_ptr().add(8));
        let tm1 = _mm512_permutex2var_pd(lo, _mm512_castpd_si512(t), hi);
        let half = _mm512_set1_pd(0.5);
        // ph = 2ⁿ/2; sm1 = (2ⁿ·2^(j/16) − 1)/2, exact for n = 0 (the table entry itself).
        let ph = _mm512_scalef_pd(half, nf);
        let sm1 = _mm512_fmadd_pd(ph, tm1, _mm512_sub_pd(ph, half));
        let s = _mm512_add_pd(sm1, half);
        let mut p = _mm512_set1_pd(1.0 / 5040.0);
        for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5] {
            p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c));
        }
        let em1 = _mm512_fmadd_pd(p, _mm512_mul_pd(r, r), r);
        let e2 = _mm512_fmadd_pd(s, em1, sm1);
        let h = _mm512_div_pd(_mm512_set1_pd(1.0), _mm512_add_pd(e2, _mm512_set1_pd(1.0)));
        let th = _mm512_mul_pd(e2, h);
        let d = _mm512_fnmadd_pd(h, h, _mm512_add_pd(h, h));
        (_mm512_or_pd(th, _mm512_and_pd(x, sign)), d)
    }

    impl Simd for Avx512F32 {
        type T = f32;
        type Half = Avx512F32Y;
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> Self {
            Self(_mm512_setzero_ps())
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            Self(_mm512_set1_ps(v))
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(_mm512_loadu_ps(p))
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> Self {
            Self(_mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, p))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            _mm512_storeu_ps(p, self.0)
        }
        #[inline(always)]
        unsafe fn store_partial(self, p: *mut f32, n: usize) {
            _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as u16, self.0)
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            Self(_mm512_fmadd_ps(a.0, b.0, c.0))
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            Self(_mm512_mul_ps(a.0, b.0))
        }
        #[inline(always)]
        unsafe fn hsum(self) -> f32 {
            _mm512_reduce_add_ps(self.0)
        }
    }

    impl Simd for Avx2F64 {
        type T = f64;
        type Half = Avx2F64;
        const LANES: usize = 4;
        #[inline(always)]
        unsafe fn zero() -> Self {
            Self(_mm256_setzero_pd())
        }
        #[inline(always)]
        unsafe fn splat(v: f64) -> Self {
            Self(_mm256_set1_pd(v))
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            Self(_mm256_loadu_pd(p))
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f64, n: usize) -> Self {
            let mut t = [0.0f64; 4];
            std::ptr::copy_nonoverlapping(p, t.as_mut_ptr(), n);
            Self(_mm256_loadu_pd(t.as_ptr()))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f64) {
            _mm256_storeu_pd(p, self.0)
        }
        #[inline(always)]
        unsafe fn store_partial(self, p: *mut f64, n: usize) {
            let mut t = [0.0f64; 4];
            _mm256_storeu_pd(t.as_mut_ptr(), self.0);
            std::ptr::copy_nonoverlapping(t.as_ptr(), p, n);
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            Self(_mm256_fmadd_pd(a.0, b.0, c.0))
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            Self(_mm256_mul_pd(a.0, b.0))
        }
        #[inline(always)]
        unsafe fn hsum(self) -> f64 {
            let mut t = [0.0f64; 4];
            _mm256_storeu_pd(t.as_mut_ptr(), self.0);
            (t[0] + t[1]) + (t[2] + t[3])
        }
    }

    impl Simd for Avx2F32 {
        type T = f32;
        type Half = Avx2F32;
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> Self {
            Self(_mm256_setzero_ps())
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            Self(_mm256_set1_ps(v))
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            Self(_mm256_loadu_ps(p))
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> Self {
            let mut t = [0.0f32; 8];
            std::ptr::copy_nonoverlapping(p, t.as_mut_ptr(), n);
            Self(_mm256_loadu_ps(t.as_ptr()))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            _mm256_storeu_ps(p, self.0)
        }
        #[inline(always)]
        unsafe fn store_partial(self, p: *mut f32, n: usize) {
            let mut t = [0.0f32; 8];
            _mm256_storeu_ps(t.as_mut_ptr(), self.0);
            std::ptr::copy_nonoverlapping(t.as_ptr(), p, n);
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            Self(_mm256_fmadd_ps(a.0, b.0, c.0))
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            Self(_mm256_mul_ps(a.0, b.0))
        }
        #[inline(always)]
        unsafe fn hsum(self) -> f32 {
            let mut t = [0.0f32; 8];
            _mm256_storeu_ps(t.as_mut_ptr(), self.0);
            ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))
        }
    }
}
