//! What this binary was built with: the code-generation flags that speed reports depend on.

/// The rustc flags of this build, space-separated (recorded by `src/build.rs`).
pub const RUSTFLAGS: &str = env!("POLYARB_RUSTFLAGS");

/// The LLVM inline threshold `.cargo/config.toml` sets; below about 1,200 simd-json's string
/// scanner stays out of line and parsing a price level change costs ~80 ns more.
pub const INLINE_THRESHOLD: u32 = 1500;

/// The LLVM inline threshold this build was given, if any.
pub fn inline_threshold() -> Option<u32> {
    inline_threshold_of(RUSTFLAGS)
}

fn inline_threshold_of(flags: &str) -> Option<u32> {
    // `-C llvm-args=-inline-threshold=N` arrives as two words, `-Cllvm-args=…` as one.
    flags
        .split_whitespace()
        .filter(|f| f.contains("llvm-args="))
        .filter_map(|f| f.rsplit_once("-inline-threshold="))
        .filter_map(|(_, v)| v.parse().ok())
        .next_back()
}

/// A warning for speed reports when this build lacks the inline threshold.
pub fn speed_warning() -> Option<String> {
    match inline_threshold() {
        Some(t) if t >= INLINE_THRESHOLD => None,
        got => Some(format!(
            "built without `-C llvm-args=-inline-threshold={INLINE_THRESHOLD}` (got {}): \
             simd-json's string scanner may stay out of line, ~80 ns per change slower; \
             RUSTFLAGS replaces .cargo/config.toml's flags",
            got.map_or_else(|| "none".to_string(), |t| t.to_string())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_read_from_either_spelling_and_the_last_wins() {
        let cases: &[(&str, Option<u32>)] = &[
            ("", None),
            ("-C target-cpu=native", None),
            (
                "-C target-cpu=native -C llvm-args=-inline-threshold=1500",
                Some(1500),
            ),
            ("-Cllvm-args=-inline-threshold=900", Some(900)),
            (
                "-C llvm-args=-inline-threshold=900 -C llvm-args=-inline-threshold=2000",
                Some(2000),
            ),
            ("-C llvm-args=-inline-threshold=abc", None),
            ("-C llvm-args=-inlinehint-threshold=5000", None),
        ];
        for (flags, want) in cases {
            assert_eq!(inline_threshold_of(flags), *want, "{flags:?}");
        }
    }
}
