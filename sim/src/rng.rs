//! The one source of chance: a xoshiro256++ stream seeded from a `u64`, with the few
//! draws the models need. Seeds for sub-streams are derived, never drawn from the clock.
//!
//! xoshiro256++ (the generator TigerBeetle's simulator and Zig's standard library use)
//! passes BigCrush and costs a few instructions a draw, with a 32-byte state seeded by
//! SplitMix64. A simulator needs statistical quality, not unpredictability: ChaCha8 was
//! the cryptographic choice, and its block refills and seeding were about a twentieth of
//! a simulated session.

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

/// A deterministic random stream.
#[derive(Clone, Debug)]
pub struct SimRng(Xoshiro256PlusPlus);

impl SimRng {
    /// The stream for `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform draw in `0..n` (`n > 0`), by multiply-shift (bias below 2^-32 for our n).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform draw in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { lo + self.below(hi - lo + 1) }
    }

    /// True with probability `p` (0.0 never, 1.0 always).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        // 53 bits give a uniform float in [0, 1).
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    /// One of `items`, uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.below(items.len() as u64) as usize;
        &items[i]
    }

    /// A probability for swarm testing: off half the time, else log-uniform in 0.1%–50%.
    /// One draw: its top bit says whether the fault is on, the rest picks the level (the
    /// setup of every swarm session draws some twenty of these).
    pub fn swarm_probability(&mut self) -> f64 {
        let x = self.next_u64();
        if x >> 63 == 0 {
            return 0.0;
        }
        let levels = SWARM_PROBABILITIES.get_or_init(|| {
            // 0.1% * 500^(k/1000), k = 0..=1000: computed once, the same values.
            (0..=1000u32)
                .map(|k| 0.001 * (500f64).powf(f64::from(k) / 1000.0))
                .collect()
        });
        // Multiply-shift of the 63 low bits: uniform over the levels, bias below 2^-50.
        let k = ((u128::from(x << 1) * levels.len() as u128) >> 64) as usize;
        levels.get(k).copied().unwrap_or(0.0)
    }
}

static SWARM_PROBABILITIES: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();

/// A well-mixed seed for item `index` of a stream `seed` (SplitMix64 finaliser), so that
/// neighbouring sessions share nothing.
pub fn derive_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed
        ^ index
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<u64> = (0..8).scan(SimRng::new(7), |r, _| Some(r.next_u64())).collect();
        let b: Vec<u64> = (0..8).scan(SimRng::new(7), |r, _| Some(r.next_u64())).collect();
        let c: Vec<u64> = (0..8).scan(SimRng::new(8), |r, _| Some(r.next_u64())).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = SimRng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let v = r.range(3, 5);
            assert!((3..=5).contains(&v));
            let p = r.swarm_probability();
            assert!((0.0..=0.5).contains(&p));
        }
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
    }

    #[test]
    fn derived_seeds_differ() {
        assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
        assert_ne!(derive_seed(1, 0), derive_seed(2, 0));
    }
}
