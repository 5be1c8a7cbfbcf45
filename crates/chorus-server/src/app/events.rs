//! Event publishing: decides which users may see a websocket event and hands it to the
//! hub for delivery, here and, through the cluster bus, on every other node (the
//! audience is resolved once, by the node that publishes). This is the one place that
//! knows the audience rules:
//! `broadcast.user_id` means that user only, `channel_id` the channel's members,
//! `team_id` the team's members, nothing at all every connected user. Handlers that
//! already know the audience (they just loaded the channel's members) pass it in.

use crate::cluster::ClusterMessage;
use crate::error::{AppError, AppResult};
use crate::AppState;
use chorus_model::{events, Broadcast, WebSocketEvent};
use serde_json::{Map, Value};

/// Builds an event from a JSON object literal.
pub fn event(name: &str, data: Value, broadcast: Broadcast) -> WebSocketEvent {
    WebSocketEvent {
        event: name.to_string(),
        data: match data {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        broadcast,
        seq: 0,
    }
}

/// A value as the JSON text that event fields such as `post` carry (Mattermost's
/// events nest posts as strings).
pub fn json_text(value: &impl serde::Serialize) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.to_string()))
}

impl AppState {
    /// Delivers `event` to everyone its broadcast allows.
    pub async fn publish(&self, event: WebSocketEvent) -> AppResult<()> {
        let broadcast = &event.broadcast;
        let audience = if !broadcast.user_id.is_empty() {
            vec![broadcast.user_id.clone()]
        } else if !broadcast.channel_id.is_empty() {
            self.store
                .channel_members(&broadcast.channel_id)
                .await?
                .into_iter()
                .map(|m| m.user_id)
                .collect()
        } else if !broadcast.team_id.is_empty() {
            self.store.team_member_ids(&broadcast.team_id).await?
        } else {
            // Everyone connected: each node knows only its own connections.
            self.hub.deliver(&event, &self.hub.connected_users());
            self.tell_cluster(ClusterMessage::WebsocketEvent {
                event,
                audience: None,
            });
            return Ok(());
        };
        self.publish_to(event, &audience);
        Ok(())
    }

    /// Delivers `event` to `audience`, already known to be allowed to see it.
    pub fn publish_to(&self, event: WebSocketEvent, audience: &[String]) {
        self.hub.deliver(&event, audience);
        if self.bus.is_some() {
            self.tell_cluster(ClusterMessage::WebsocketEvent {
                event,
                audience: Some(audience.to_vec()),
            });
        }
    }
}

/// `user_typing` from a socket: tells the channel's other members.
pub async fn publish_typing(
    state: &AppState,
    user_id: &str,
    channel_id: &str,
    parent_id: &str,
) -> AppResult<()> {
    if state
        .store
        .get_channel_member(channel_id, user_id)
        .await?
        .is_none()
    {
        return Err(AppError::forbidden(
            "You can only send typing events to channels you are a member of.",
        ));
    }
    let mut broadcast = Broadcast::to_channel(channel_id);
    broadcast.omit_users = Some([(user_id.to_string(), true)].into_iter().collect());
    state
        .publish(event(
            events::TYPING,
            serde_json::json!({"parent_id": parent_id, "user_id": user_id}),
            broadcast,
        ))
        .await
}
