//! Where the helpers' calls go: the real host inside a component, the mock host natively with
//! the `testing` feature, and a clear panic natively without it.

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::*;

#[cfg(all(not(target_arch = "wasm32"), feature = "testing"))]
pub(crate) use crate::testing::backend::*;

#[cfg(all(not(target_arch = "wasm32"), not(feature = "testing")))]
mod native;
#[cfg(all(not(target_arch = "wasm32"), not(feature = "testing")))]
pub(crate) use native::*;
