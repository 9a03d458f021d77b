//! Build script: records the code-generation flags the binary was built with, so speed reports
//! can say what they measured (`.cargo/config.toml` sets them; `RUSTFLAGS` replaces them).

fn main() {
    println!("cargo:rerun-if-changed=src/build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    // Cargo joins the flags with 0x1f; a space reads better in a report.
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags = flags.replace('\u{1f}', " ");
    println!("cargo:rustc-env=POLYARB_RUSTFLAGS={flags}");
}
