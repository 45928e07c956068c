//! On riscv64 the shim's binary is linked at 1 GiB: the VS-mode backend loads programs into
//! the shim's own process, and a static program is linked at 64 KiB, where the shim's own
//! static image would otherwise be.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("riscv64") {
        println!("cargo:rustc-link-arg-bin=rune-shim=-Wl,-Ttext-segment=0x40000000");
    }
}
