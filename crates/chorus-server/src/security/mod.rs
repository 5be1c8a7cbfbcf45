//! Defences of the login path and of the process: bounded password hashing
//! (`passwords`), per-address throttling of logins and sign-ups (`throttle`), who the
//! client is behind a load balancer (`client_address`), and what a plugin process can
//! reach of the server (`process`, and `confine` for its file access), and the
//! digests tokens are stored as (`digest`), and which addresses the server's own
//! requests to integrations may reach (`outbound`).

pub mod client_address;
pub mod confine;
pub mod digest;
pub mod outbound;
pub mod passwords;
pub mod process;
pub mod throttle;
