//! The admin commands, one module per group. Each takes the [`Context`] (server, token,
//! output mode) and returns a [`CliResult`]; `main` turns failures into messages and
//! exit codes.

pub mod admin;
pub mod auth;
pub mod check_ha;
pub mod cluster;
pub mod plugin;
pub mod plugin_new;

use crate::errors::CliResult;
use crate::output::Output;
use crate::profiles::Profiles;
use chorus_client::Client;
use std::path::PathBuf;

pub struct Context {
    pub url: Option<String>,
    pub token: Option<String>,
    pub output: Output,
    pub profiles_path: PathBuf,
}

impl Context {
    pub fn profiles(&self) -> CliResult<Profiles> {
        Profiles::load(&self.profiles_path)
    }

    /// A client for the server of `--url`, else the current profile.
    pub fn client(&self) -> CliResult<Client> {
        crate::connection::resolve(
            self.url.as_deref(),
            self.token.as_deref(),
            &self.profiles()?,
        )
    }
}
