//! Seeded random streams: every stream derives from one seed plus a stream id (chain, member,
//! split), so results never depend on thread scheduling.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The random number generator used throughout Credence.
pub type Rng = Xoshiro256PlusPlus;

/// A generator for `stream` derived from `seed`; distinct streams are statistically independent.
pub fn stream(seed: u64, stream: u64) -> Rng {
    // SplitMix64 mixing of (seed, stream) into a 64-bit seed for the xoshiro state expansion.
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(0x2545_F491_4F6C_DD1D);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    Rng::seed_from_u64(z)
}

/// A standard normal draw.
pub fn normal(rng: &mut Rng) -> f64 {
    use rand_distr::Distribution;
    rand_distr::StandardNormal.sample(rng)
}

/// A uniform draw in [0, 1).
pub fn uniform(rng: &mut Rng) -> f64 {
    use rand::Rng as _;
    rng.gen::<f64>()
}

/// A random permutation of 0..n.
pub fn permutation(rng: &mut Rng, n: usize) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut p: Vec<usize> = (0..n).collect();
    p.shuffle(rng);
    p
}
