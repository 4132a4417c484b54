//! Host-side bindings of the `hub:transport` world (`schema/wit`).

wasmtime::component::bindgen!({
    path: "../schema/wit",
    world: "hub:transport/provider@0.2.0",
    exports: { default: async },
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
    require_store_data_send: true,
});

pub use hub::transport::types;
