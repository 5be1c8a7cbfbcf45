//! The Chorus demo plugin: every hook and every API call of the `chorus-plugin` SDK,
//! written to be read by someone learning to write plugins.
//!
//! What it does, so that you (and the server's tests) can watch each part work:
//!
//! - **Moderation** (`MessageWillBePosted`, `MessageWillBeUpdated`): a post containing
//!   the configured `RejectWord` (default "forbidden", case-insensitive) is rejected
//!   while `RejectWordEnabled` is on; otherwise a post containing `{{upper}}` is
//!   rewritten in upper case with the marker removed; anything else goes through
//!   unchanged.
//! - **Notification hooks** (`MessageHasBeenPosted` and every other `...Has...` hook,
//!   `OnPluginClusterEvent`, the lifecycle hooks, `ExecuteCommand`): each records what
//!   it saw in the KV store under `hook:<HookName>:<id>` as JSON
//!   `{"hook", "context", ...the data}`. The ids are listed in [`demo::Demo::record`].
//! - **`/demo`**: a slash command registered on activation; `/demo help` lists its
//!   subcommands, which between them call every API method.
//! - **HTTP** at `/plugins/com.chorus.demo/...`: `GET /hello`, `GET /headers`,
//!   `POST /echo`, `GET /kv/<key>` and `PUT /kv/<key>` (see [`http::serve`]).
//! - **Interactive messages**: `/demo ask` posts buttons served by the plugin's own
//!   routes, which open a dialog and update the post; `/demo dialog` opens one from the
//!   command; `/demo vanish` updates and deletes an ephemeral post (see [`interactive`]).
//! - **Cluster coordination** under `/cluster/...`: a compare-and-set counter and a
//!   critical section guarded by the SDK's `ClusterMutex`, which the server's cluster
//!   tests call on several nodes at once (see [`cluster::serve_cluster`]).
//! - **A bot**, `demo-bot`, ensured on activation, posts on the plugin's behalf.
//!
//! The code, by concern: [`demo`] (the plugin's state and settings), [`hooks`] (the
//! `Plugin` implementation), [`commands`] (`/demo`), [`http`] (the HTTP routes) and
//! [`cluster`] (the `/cluster` routes and the compare-and-set counter), [`interactive`]
//! (buttons and dialogs) and [`inspect`] (teams, channels, users, permissions, bots and
//! the server, as the plugin sees them).

mod cluster;
mod commands;
mod demo;
mod hooks;
mod http;
mod inspect;
mod interactive;
#[cfg(test)]
mod tests;

fn main() {
    chorus_plugin::serve(demo::Demo::default())
}
