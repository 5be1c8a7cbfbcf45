//! System tests of the `chorus` binary: single servers as a user runs them
//! (`server_cli`) and clusters of servers on one PostgreSQL (`ha`). One test binary
//! for the crate keeps link time down.

mod bots;
mod check_ha;
mod cli;
mod cli_admin;
mod ha;
mod hardening;
mod load_balancer;
mod plugin_guide;
mod plugin_new;
mod server_cli;
mod support;
