//! What the HNSW graph holds and how it measures: the vector id, the half-precision point
//! and the distance. A leaf shared by the vector index and the frozen walk.

/// Vector id: the HNSW data id of one document version's embedding.
pub type Vid = u32;

/// Half-precision component of the vectors the graph holds.
pub type Half = simsimd::f16;

/// Half-precision copy of a vector, for the graph.
pub(crate) fn to_half(v: &[f32]) -> Vec<Half> {
    v.iter().map(|x| Half::from_f32(*x)).collect()
}

/// `1 - dot` for unit vectors in half precision, clamped at 0 (hnsw_rs's own `DistDot`
/// asserts on the rounding error of nearly identical vectors).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitDot;

impl hnsw_rs::anndists::dist::Distance<Half> for UnitDot {
    fn eval(&self, a: &[Half], b: &[Half]) -> f32 {
        let d = match <Half as simsimd::SpatialSimilarity>::dot(a, b) {
            Some(d) => d as f32,
            None => a.iter().zip(b).map(|(x, y)| x.to_f32() * y.to_f32()).sum(),
        };
        (1.0 - d).max(0.0)
    }
}

#[cfg(test)]
/// A seeded pseudo-random unit vector (xorshift), for tests.
pub(crate) fn random_unit(seed: &mut u64, dim: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed % 2000) as f32 / 1000.0 - 1.0
        })
        .collect();
    crate::embed::l2_normalize(&mut v);
    v
}
