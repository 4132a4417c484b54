//! Who is calling: passwords, bearer tokens, and the signed-in principal.

mod passwords;
mod principal;
mod throttle;
mod tokens;

pub use passwords::{DUMMY_HASH, hash_password, verify_password};
pub use principal::Principal;
pub use throttle::SignInThrottle;
pub use tokens::{IssuedToken, hash_token, hex, new_token};
