//! Real Chorus servers for tests and benchmarks, shared by every crate that needs them:
//! fresh PostgreSQL databases (`database`), REST and websocket test clients with
//! assertions (`client`, on `chorus-client`; `ws`), plugins built from the workspace
//! (`plugins`), an HTTP integration the server calls (`integration`), load and latency summaries for benchmarks (`load`), a server inside the
//! calling process (`server`), and clusters of real `chorus server` processes on one
//! database that can be killed and restarted (`cluster`, on `chorus-launcher`).

pub mod client;
pub mod cluster;
pub mod database;
pub mod integration;
pub mod load;
pub mod plugins;
pub mod private_postgres;
pub mod server;
pub mod ws;

pub use client::{Api, Endpoint};
pub use cluster::{Cluster, Node};
pub use ws::Ws;
