//! System tests of the `chorus` binary: single servers as a user runs them
//! (`server_cli`) and clusters of servers on one PostgreSQL (`ha`). One test binary
//! for the crate keeps link time down.

mod cli;
mod cli_admin;
mod ha;
mod load_balancer;
mod server_cli;
