//! The one tagged hash every crate of the workspace uses for structured data.
//!
//! `tagged_hash(tag, [p1, p2, …]) = blake3(tag || len(p1) || p1 || len(p2) || p2 || …)` with
//! each length a u64 little-endian. The tag (a fixed string such as
//! `"zkquorum/binding/v1"`) separates domains; the length prefixes make the encoding of the
//! parts injective, so no two different part lists hash the same bytes. Bindings, audit
//! chain hashes and node attestations are all this function with their own tag.

/// `blake3(tag || Σ (len(part) as u64 LE || part))`.
pub fn tagged_hash(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(tag);
    for part in parts {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::tagged_hash;

    #[test]
    fn parts_are_length_prefixed() {
        // Moving a byte from one part to the next changes the hash.
        assert_ne!(
            tagged_hash(b"t", &[b"ab", b"c"]),
            tagged_hash(b"t", &[b"a", b"bc"])
        );
        assert_ne!(tagged_hash(b"t", &[b""]), tagged_hash(b"t", &[]));
        assert_ne!(tagged_hash(b"t1", &[b"x"]), tagged_hash(b"t2", &[b"x"]));
    }

    #[test]
    fn pinned_construction() {
        let mut expected = Vec::new();
        expected.extend_from_slice(b"tag");
        expected.extend_from_slice(&2u64.to_le_bytes());
        expected.extend_from_slice(b"hi");
        assert_eq!(
            tagged_hash(b"tag", &[b"hi"]),
            *blake3::hash(&expected).as_bytes()
        );
    }
}
