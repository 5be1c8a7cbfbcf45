//! Wire types shared by every Chorus crate: the JSON shapes of users, teams, channels,
//! posts, websocket events and API errors, exactly as Mattermost's REST API v4 and
//! websocket API spell them, plus the 26-character id and millisecond clock helpers.
//!
//! Nothing here talks to a database or the network; the server, the client and the
//! plugin SDK all (de)serialise through these types so that one definition is the truth.

mod channel;
mod command;
mod error;
mod file;
mod ids;
mod interactive;
mod notify;
mod plugin;
mod post;
mod status;
mod team;
mod user;
mod webhook;
mod websocket;

pub use channel::*;
pub use command::*;
pub use error::*;
pub use file::*;
pub use ids::*;
pub use interactive::*;
pub use notify::*;
pub use plugin::*;
pub use post::*;
pub use status::*;
pub use team::*;
pub use user::*;
pub use webhook::*;
pub use websocket::*;

/// `{"status":"OK"}`, the body Mattermost returns from writes that have nothing else to say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusOk {
    pub status: String,
}

impl Default for StatusOk {
    fn default() -> Self {
        StatusOk {
            status: "OK".into(),
        }
    }
}
