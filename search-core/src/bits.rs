//! Bitsets as `Vec<u64>` words, indexed by vid or doc id: the one implementation the engine,
//! the match-set collector and the accumulating executor share. A leaf module: it knows
//! nothing of the rest of the crate.

/// Sets or clears bit `i`, growing `bits` when setting past its end.
#[inline]
pub(crate) fn assign(bits: &mut Vec<u64>, i: u32, on: bool) {
    let w = i as usize / 64;
    if on {
        if bits.len() <= w {
            bits.resize(w + 1, 0);
        }
        bits[w] |= 1 << (i % 64);
    } else if let Some(word) = bits.get_mut(w) {
        *word &= !(1 << (i % 64));
    }
}

/// Sets bit `i`, growing `bits` if need be.
#[inline]
pub(crate) fn insert(bits: &mut Vec<u64>, i: u32) {
    assign(bits, i, true);
}

/// Sets bit `i` of a bitset already sized for it.
#[inline]
pub(crate) fn mark(bits: &mut [u64], i: u32) {
    bits[i as usize / 64] |= 1 << (i % 64);
}

/// True when bit `i` is set; bits past the end are clear.
#[inline]
pub(crate) fn contains(bits: &[u64], i: u32) -> bool {
    bits.get(i as usize / 64)
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// The positions of the set bits of `word`, lowest first.
#[inline]
pub(crate) fn ones(word: u64) -> impl Iterator<Item = usize> {
    let mut rest = word;
    std::iter::from_fn(move || {
        (rest != 0).then(|| {
            let bit = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            bit
        })
    })
}

/// The set bits of a bitset, in increasing order.
pub(crate) fn iter(bits: &[u64]) -> impl Iterator<Item = u32> + '_ {
    bits.iter()
        .enumerate()
        .flat_map(|(w, &word)| ones(word).map(move |b| (w * 64 + b) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_bits_read_back_in_order_across_words() {
        let mut bits = Vec::new();
        for i in [130, 0, 63, 64, 7] {
            insert(&mut bits, i);
        }
        assert_eq!(bits.len(), 3);
        assert_eq!(iter(&bits).collect::<Vec<_>>(), vec![0, 7, 63, 64, 130]);
        assert!(contains(&bits, 63) && !contains(&bits, 62) && !contains(&bits, 10_000));
        assign(&mut bits, 63, false);
        assign(&mut bits, 10_000, false);
        assert_eq!(bits.len(), 3, "clearing past the end does not grow");
        assert_eq!(iter(&bits).collect::<Vec<_>>(), vec![0, 7, 64, 130]);
        let mut fixed = vec![0u64; 2];
        mark(&mut fixed, 65);
        assert_eq!(ones(fixed[1]).collect::<Vec<_>>(), vec![1]);
    }
}
