//! The SDK for provider plugins of the messaging hub.
//!
//! A plugin is a Rust library compiled to a `wasm32-wasip2` component that
//! implements [`Provider`] and calls [`export_provider!`]. The SDK keeps plugin
//! authors away from the raw bindings: [`http`] sends requests through the
//! host (only to the hosts the plugin's manifest allows), [`codec`] reads and
//! writes JSON and forms, [`signature`] checks webhook signatures in constant
//! time, [`webhook`] reads provider requests and builds answers, [`text`]
//! splits long texts as providers limit them, and [`log`] writes to the hub's log. See `README.md` for a walk-through.

pub mod codec;
pub mod http;
pub mod log;
pub mod net;
pub mod settings;
pub mod signature;
pub mod text;
pub mod webhook;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../schema/wit",
        world: "hub:transport/provider@0.2.0",
        with: {
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
            "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
            "wasi:random/random@0.2.12": wasip2::random::random,
            "wasi:http/types@0.2.12": wasip2::http::types,
            "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        },
        pub_export_macro: true,
        export_macro_name: "__export_provider",
        default_bindings_module: "::hub_plugin_sdk::bindings",
    });
}

/// `wasi:tls` (a draft WASI interface) for [`net`].
#[doc(hidden)]
pub mod tls_bindings {
    wit_bindgen::generate!({
        path: "../schema/wit",
        world: "wasi:tls/imports@0.2.0-draft",
        features: ["tls"],
        with: {
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
        },
    });
}

/// The contract's types: what a plugin receives and returns.
pub mod types {
    pub use crate::bindings::hub::transport::types::*;
}

/// What a provider implements; the hub calls it through [`export_provider!`].
pub use bindings::exports::hub::transport::transport::Guest as Provider;

/// Exports a [`Provider`] implementation as the component's `transport`.
///
/// ```ignore
/// struct MyProvider;
/// impl hub_plugin_sdk::Provider for MyProvider { /* ... */ }
/// hub_plugin_sdk::export_provider!(MyProvider);
/// ```
///
/// Built for anything but WebAssembly (a plugin's unit tests, the fuzz
/// targets in `fuzz/`) it exports nothing, so that several plugins can be
/// linked into one native program and called as plain Rust.
#[macro_export]
macro_rules! export_provider {
    ($provider:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::__export_provider!($provider);
    };
}

/// Milliseconds since the Unix epoch, from the host's wall clock.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> u64 {
    let t = wasip2::clocks::wall_clock::now();
    t.seconds * 1000 + u64::from(t.nanoseconds / 1_000_000)
}

/// Milliseconds since the Unix epoch; natively (tests, fuzzing) there is no
/// host, so the system clock stands in.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `n` random bytes from the host's secure source.
#[cfg(target_arch = "wasm32")]
pub fn random_bytes(n: u64) -> Vec<u8> {
    wasip2::random::random::get_random_bytes(n)
}

/// `n` random bytes; natively (tests, fuzzing) from the system's source.
#[cfg(not(target_arch = "wasm32"))]
pub fn random_bytes(n: u64) -> Vec<u8> {
    use std::io::Read;
    let mut bytes = vec![0; n as usize];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("the system's random source");
    bytes
}
