//! Seeded randomness. One u64 seed determines everything an instance draws.
//!
//! Stream layout: the seed keys a ChaCha8 generator and each kind of draw reads its own ChaCha
//! stream (`set_stream`), so drawing more of one kind never shifts another:
//!
//! | stream | draws |
//! |---|---|
//! | 1 `Data` | training inputs X, then w_true |
//! | 2 `Noise` | label noise, residual directions |
//! | 3 `Init` | initial weights (Gaussian, residual perturbations) |
//! | 4 `Projection` | the residual network's fixed p |
//! | 5 `Minimizer` | free factors of constructed minimisers, gauge moves |
//! | 6 `Rotation` | random orthogonal bases (covariance eigenvectors) |
//! | 7 `TestData` | held-out inputs and noise |
//! | 8 `Lanczos` | Lanczos start vectors |
//! | 9 `PowerIteration` | the authors' power-iteration start vector |
//! | 10 `Search` | random starts of searches (e.g. for a minimiser sharper than S_min's) |

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The generator used throughout.
pub type Rng = ChaCha8Rng;

/// Independent kinds of draws (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Data = 1,
    Noise = 2,
    Init = 3,
    Projection = 4,
    Minimizer = 5,
    Rotation = 6,
    TestData = 7,
    Lanczos = 8,
    PowerIteration = 9,
    Search = 10,
}

/// The generator for one seed and stream.
pub fn stream_rng(seed: u64, stream: Stream) -> Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// One standard normal draw.
#[inline]
pub fn normal(rng: &mut Rng) -> f64 {
    rand::RngExt::sample(rng, StandardNormal)
}

/// `n` standard normal draws.
pub fn normals(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| normal(rng)).collect()
}

/// A uniformly distributed unit vector in R^d.
pub fn unit_vector(rng: &mut Rng, d: usize) -> Vec<f64> {
    loop {
        let v = normals(rng, d);
        let n = crate::engine::linalg::norm(&v);
        if n > 1e-12 {
            return v.into_iter().map(|x| x / n).collect();
        }
    }
}

/// The SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer, used to derive
/// independent seeds from (seed, index, …) tuples.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a = normals(&mut stream_rng(7, Stream::Data), 4);
        let b = normals(&mut stream_rng(7, Stream::Data), 4);
        let c = normals(&mut stream_rng(7, Stream::Init), 4);
        assert_eq!(
            a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_ne!(a, c);
    }
}
