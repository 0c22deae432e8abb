//! Seeded random-number streams, one per purpose, so that every model fed the same seed sees the
//! same arrivals and demands (common random numbers) whatever else it draws.

use rand::SeedableRng;

/// The generator used for every stream: xoshiro256++, fast and with a 2^256 period.
pub type SimRng = rand::rngs::Xoshiro256PlusPlus;

/// SplitMix64 finaliser: turns nearby inputs into unrelated 64-bit outputs.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream for `purpose` (a small constant naming what the numbers are for) in replication
/// `replication` of a run seeded with `seed`. Different (seed, replication, purpose) triples give
/// independent-looking streams; the same triple always gives the same stream.
pub fn stream(seed: u64, replication: u64, purpose: u64) -> SimRng {
    let key = splitmix64(splitmix64(splitmix64(seed) ^ replication) ^ purpose.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    SimRng::seed_from_u64(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_key_same_stream_different_key_different_stream() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = stream(1, 0, 7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = stream(1, 0, 7);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = stream(1, 0, 8);
                move |_| r.next_u64()
            })
            .collect();
        let d: Vec<u64> = (0..4)
            .map({
                let mut r = stream(1, 1, 7);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
