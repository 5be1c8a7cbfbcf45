//! Integration tests of the HTTP API and websocket against real servers, each run on
//! SQLite and on PostgreSQL. One test binary for the crate keeps link time down.

mod authorization;
mod bots;
mod channels;
mod cluster;
mod commands;
mod common;
mod custom_commands;
mod directory;
mod errors;
mod files;
mod hardening;
mod interactive;
mod management;
mod mentions;
mod outgoing_webhooks;
mod pins;
mod plugins;
mod posts;
mod preferences;
mod properties;
mod reactions;
mod search;
mod startup;
mod statuses;
mod teams;
mod users;
mod web;
mod webhooks;
mod websocket;
