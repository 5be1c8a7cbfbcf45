//! Channels: open and private channels, visibility, membership, direct messages.

use crate::both_backends;
use crate::common::{assert_error, id, ids, Backend, Endpoint, TestServer};
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    create_open_and_private_channels,
    duplicate_and_invalid_channels_refused,
    private_channels_invisible_to_non_members,
    channels_of_a_user_in_a_team,
    join_open_channel_and_add_to_private,
    add_member_refusals_write_nothing,
    leave_and_remove_members,
    direct_channels_are_idempotent_and_personal,
);

async fn create_open_and_private_channels(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team = bob.team("crew").await;
    let team_id = id(&team);

    for (name, kind) in [("news", "O"), ("secrets", "P")] {
        let (status, channel) = bob
            .post(
                "/channels",
                json!({"team_id": team_id, "name": name, "display_name": format!("The {name}"), "type": kind, "header": "h", "purpose": "p"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{channel}");
        assert_eq!(id(&channel).len(), 26);
        assert_eq!(channel["team_id"], team["id"]);
        assert_eq!(channel["name"], name);
        assert_eq!(channel["display_name"], format!("The {name}"));
        assert_eq!(channel["type"], kind);
        assert_eq!(channel["header"], "h");
        assert_eq!(channel["purpose"], "p");
        assert_eq!(channel["creator_id"], bob_user["id"]);
        assert_eq!(channel["delete_at"], 0);
        assert_eq!(channel["total_msg_count"], 0);

        let (status, members) = bob
            .get(&format!("/channels/{}/members", id(&channel)))
            .await;
        assert_eq!(status, StatusCode::OK);
        let members = members.as_array().unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0]["user_id"], bob_user["id"]);
        assert_eq!(members[0]["channel_id"], channel["id"]);
        assert_eq!(members[0]["roles"], "channel_user channel_admin");

        let (status, read) = bob.get(&format!("/channels/{}", id(&channel))).await;
        assert_eq!((status, &read), (StatusCode::OK, &channel));
        assert_eq!(bob.channel_named(&team_id, name).await, channel);
    }
    server.stop().await;
}

async fn duplicate_and_invalid_channels_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, _) = server.member(&alice, &team_id, "bob").await;
    let (carol, _) = server.user("carol").await;
    alice.channel(&team_id, "news", "O").await;
    let channels_before = server.count("channels").await;
    let members_before = server.count("channel_members").await;

    let create = |name: &str, kind: &str| json!({"team_id": team_id, "name": name, "display_name": "Some name", "type": kind});
    for kind in ["O", "P"] {
        let duplicate = bob.post("/channels", create("news", kind)).await;
        assert_error(
            &duplicate,
            StatusCode::BAD_REQUEST,
            "store.sql_channel.save_channel.exists.app_error",
        );
    }
    let default_name = bob.post("/channels", create("town-square", "O")).await;
    assert_error(
        &default_name,
        StatusCode::BAD_REQUEST,
        "store.sql_channel.save_channel.exists.app_error",
    );
    for name in ["x", "News", "two words", "_lead", &"n".repeat(65)] {
        let reply = bob.post("/channels", create(name, "O")).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "model.channel.is_valid.name.app_error",
        );
    }
    for kind in ["D", "G", "", "o"] {
        let reply = bob.post("/channels", create("fine", kind)).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "model.channel.is_valid.type.app_error",
        );
    }
    let no_display_name = bob
        .post(
            "/channels",
            json!({"team_id": team_id, "name": "fine", "display_name": "", "type": "O"}),
        )
        .await;
    assert_error(
        &no_display_name,
        StatusCode::BAD_REQUEST,
        "model.channel.is_valid.display_name.app_error",
    );
    let long_header = bob
        .post("/channels", json!({"team_id": team_id, "name": "fine", "display_name": "Fine", "type": "O", "header": "h".repeat(1025)}))
        .await;
    assert_error(
        &long_header,
        StatusCode::BAD_REQUEST,
        "model.channel.is_valid.header.app_error",
    );
    let outsider = carol.post("/channels", create("fine", "O")).await;
    assert_error(
        &outsider,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let unknown_team = bob
        .post("/channels", json!({"team_id": chorus_model::new_id(), "name": "fine", "display_name": "Fine", "type": "O"}))
        .await;
    assert_error(
        &unknown_team,
        StatusCode::NOT_FOUND,
        "app.team.get.find.app_error",
    );

    assert_eq!(server.count("channels").await, channels_before);
    assert_eq!(server.count("channel_members").await, members_before);
    let missing = alice
        .get(&format!("/teams/{team_id}/channels/name/fine"))
        .await;
    assert_error(
        &missing,
        StatusCode::NOT_FOUND,
        "app.channel.get_by_name.missing.app_error",
    );
    server.stop().await;
}

async fn private_channels_invisible_to_non_members(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (carol, _) = server.member(&bob, &team_id, "carol").await;
    let (dave, _) = server.user("dave").await;
    let open = bob.channel(&team_id, "news", "O").await;
    let private = bob.channel(&team_id, "secrets", "P").await;

    // Open: visible to the team (carol is not in the channel), not to outsiders.
    for reader in [&bob, &carol, &alice] {
        let (status, channel) = reader.get(&format!("/channels/{}", id(&open))).await;
        assert_eq!((status, &channel), (StatusCode::OK, &open));
        let (status, channel) = reader
            .get(&format!("/teams/{team_id}/channels/name/news"))
            .await;
        assert_eq!((status, &channel), (StatusCode::OK, &open));
    }
    let outsider = dave.get(&format!("/channels/{}", id(&open))).await;
    assert_error(
        &outsider,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    // Private: members and system admins only.
    for reader in [&bob, &alice] {
        let (status, channel) = reader.get(&format!("/channels/{}", id(&private))).await;
        assert_eq!((status, &channel), (StatusCode::OK, &private));
    }
    for reader in [&carol, &dave] {
        let hidden = reader.get(&format!("/channels/{}", id(&private))).await;
        assert_error(
            &hidden,
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
        );
        let hidden = reader
            .get(&format!("/teams/{team_id}/channels/name/secrets"))
            .await;
        assert_error(
            &hidden,
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
        );
        let hidden = reader
            .get(&format!("/channels/{}/posts", id(&private)))
            .await;
        assert_error(
            &hidden,
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
        );
        let hidden = reader
            .get(&format!("/channels/{}/members", id(&private)))
            .await;
        assert_error(
            &hidden,
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
        );
    }

    let unknown = bob
        .get(&format!("/channels/{}", chorus_model::new_id()))
        .await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.channel.get.existing.app_error",
    );
    let unknown = bob
        .get(&format!("/teams/{team_id}/channels/name/nothing"))
        .await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.channel.get_by_name.missing.app_error",
    );
    server.stop().await;
}

async fn channels_of_a_user_in_a_team(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let other_team = id(&bob.team("other").await);
    let (carol, carol_user) = server.member(&bob, &team_id, "carol").await;
    bob.channel(&team_id, "news", "O").await;
    let private = bob.channel(&team_id, "secrets", "P").await;
    bob.channel(&other_team, "elsewhere", "O").await;

    let names = |channels: &serde_json::Value| -> Vec<String> {
        let mut names: Vec<String> = channels
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let (status, channels) = bob
        .get(&format!("/users/me/teams/{team_id}/channels"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&channels),
        ["news", "off-topic", "secrets", "town-square"]
    );
    let (status, same) = bob
        .get(&format!(
            "/users/{}/teams/{team_id}/channels",
            id(&bob_user)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&same), names(&channels));
    // Carol is in the team's default channels only: open "news" is not hers until she joins.
    let (_, carols) = carol
        .get(&format!("/users/me/teams/{team_id}/channels"))
        .await;
    assert_eq!(names(&carols), ["off-topic", "town-square"]);
    assert!(!ids(&carols).contains(&id(&private)));
    let (status, carols) = alice
        .get(&format!(
            "/users/{}/teams/{team_id}/channels",
            id(&carol_user)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&carols), ["off-topic", "town-square"]);

    let refused = carol
        .get(&format!(
            "/users/{}/teams/{team_id}/channels",
            id(&bob_user)
        ))
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let invalid = carol.get("/users/me/teams/not-an-id/channels").await;
    assert_error(
        &invalid,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}

async fn join_open_channel_and_add_to_private(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (carol, carol_user) = server.member(&bob, &team_id, "carol").await;
    let open = bob.channel(&team_id, "news", "O").await;
    let private = bob.channel(&team_id, "secrets", "P").await;

    let (status, member) = carol
        .post(
            &format!("/channels/{}/members", id(&open)),
            json!({"user_id": id(&carol_user)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["channel_id"], open["id"]);
    assert_eq!(member["user_id"], carol_user["id"]);
    assert_eq!(member["roles"], "channel_user");
    let mut expected = vec![id(&bob_user), id(&carol_user)];
    expected.sort();
    assert_eq!(carol.channel_member_ids(&id(&open)).await, expected);
    // Joining twice is harmless.
    let (status, again) = carol
        .post(
            &format!("/channels/{}/members", id(&open)),
            json!({"user_id": id(&carol_user)}),
        )
        .await;
    assert_eq!((status, &again), (StatusCode::CREATED, &member));
    assert_eq!(carol.channel_member_ids(&id(&open)).await, expected);

    // A member adds someone to a private channel; then they can read it.
    bob.add_to_channel(&id(&private), &id(&carol_user)).await;
    assert_eq!(carol.channel_member_ids(&id(&private)).await, expected);
    let (status, _) = carol
        .get(&format!("/channels/{}/posts", id(&private)))
        .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

async fn add_member_refusals_write_nothing(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (carol, carol_user) = server.member(&bob, &team_id, "carol").await;
    let (dave, dave_user) = server.member(&bob, &team_id, "dave").await;
    let (_, erin_user) = server.user("erin").await;
    let open = bob.channel(&team_id, "news", "O").await;
    let private = bob.channel(&team_id, "secrets", "P").await;
    let members_before = server.count("channel_members").await;

    // Not in the team: cannot be added, even by a channel member.
    for channel in [&open, &private] {
        let reply = bob
            .post(
                &format!("/channels/{}/members", id(channel)),
                json!({"user_id": id(&erin_user)}),
            )
            .await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "api.channel.add_user.to.channel.failed.app_error",
        );
    }
    // Non-members of a private channel cannot join it or add anyone to it.
    let reply = carol
        .post(
            &format!("/channels/{}/members", id(&private)),
            json!({"user_id": id(&carol_user)}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = carol
        .post(
            &format!("/channels/{}/members", id(&private)),
            json!({"user_id": id(&dave_user)}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    // Nor can a non-member of an open channel add someone else to it.
    let reply = dave
        .post(
            &format!("/channels/{}/members", id(&open)),
            json!({"user_id": id(&carol_user)}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = bob
        .post(
            &format!("/channels/{}/members", id(&open)),
            json!({"user_id": chorus_model::new_id()}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::NOT_FOUND,
        "app.user.missing_account.const",
    );
    let reply = bob
        .post(
            &format!("/channels/{}/members", chorus_model::new_id()),
            json!({"user_id": id(&carol_user)}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::NOT_FOUND,
        "app.channel.get.existing.app_error",
    );

    assert_eq!(server.count("channel_members").await, members_before);
    assert_eq!(bob.channel_member_ids(&id(&open)).await, [id(&bob_user)]);
    assert_eq!(bob.channel_member_ids(&id(&private)).await, [id(&bob_user)]);
    server.stop().await;
}

async fn leave_and_remove_members(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team_id = id(&bob.team("crew").await);
    let (carol, carol_user) = server.member(&bob, &team_id, "carol").await;
    let (dave, dave_user) = server.member(&bob, &team_id, "dave").await;
    let private = bob.channel(&team_id, "secrets", "P").await;
    let channel_id = id(&private);
    bob.add_to_channel(&channel_id, &id(&carol_user)).await;
    bob.add_to_channel(&channel_id, &id(&dave_user)).await;

    // Leave, by `me` and by one's own id.
    let (status, body) = carol
        .delete(&format!("/channels/{channel_id}/members/me"))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    let gone = carol.get(&format!("/channels/{channel_id}/posts")).await;
    assert_error(
        &gone,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let mut expected = vec![id(&bob_user), id(&dave_user)];
    expected.sort();
    assert_eq!(bob.channel_member_ids(&channel_id).await, expected);

    // Remove someone else; an outsider cannot.
    let refused = carol
        .delete(&format!(
            "/channels/{channel_id}/members/{}",
            id(&dave_user)
        ))
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_eq!(bob.channel_member_ids(&channel_id).await, expected);
    let (status, _) = bob
        .delete(&format!(
            "/channels/{channel_id}/members/{}",
            id(&dave_user)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bob.channel_member_ids(&channel_id).await, [id(&bob_user)]);
    let gone = dave.get(&format!("/channels/{channel_id}")).await;
    assert_error(
        &gone,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    let not_member = bob
        .delete(&format!(
            "/channels/{channel_id}/members/{}",
            id(&carol_user)
        ))
        .await;
    assert_error(
        &not_member,
        StatusCode::NOT_FOUND,
        "app.channel.get_member.missing.app_error",
    );
    let invalid = bob
        .delete(&format!("/channels/{channel_id}/members/nobody"))
        .await;
    assert_error(
        &invalid,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}

async fn direct_channels_are_idempotent_and_personal(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    let (dave, _) = server.user("dave").await;
    let (bob_id, carol_id) = (id(&bob_user), id(&carol_user));

    let (status, direct) = bob
        .post("/channels/direct", json!([bob_id, carol_id]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{direct}");
    assert_eq!(direct["type"], "D");
    assert_eq!(direct["team_id"], "");
    let mut pair = [bob_id.clone(), carol_id.clone()];
    pair.sort();
    assert_eq!(direct["name"], format!("{}__{}", pair[0], pair[1]));
    let expected = pair.to_vec();
    assert_eq!(bob.channel_member_ids(&id(&direct)).await, expected);

    let (status, again) = bob
        .post("/channels/direct", json!([bob_id, carol_id]))
        .await;
    assert_eq!((status, id(&again)), (StatusCode::CREATED, id(&direct)));
    let (status, reversed) = carol
        .post("/channels/direct", json!([bob_id, carol_id]))
        .await;
    assert_eq!((status, id(&reversed)), (StatusCode::CREATED, id(&direct)));
    let (status, flipped) = carol
        .post("/channels/direct", json!([carol_id, bob_id]))
        .await;
    assert_eq!((status, id(&flipped)), (StatusCode::CREATED, id(&direct)));
    let channels = server.count("channels").await;
    assert_eq!(channels, 1, "one direct channel, however it is asked for");

    let post = carol.create_post(&id(&direct), "just us").await;
    assert_eq!(bob.post_order(&id(&direct)).await, [id(&post)]);

    // Dave is not one of the two.
    let refused = dave
        .post("/channels/direct", json!([bob_id, carol_id]))
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let hidden = dave.get(&format!("/channels/{}/posts", id(&direct))).await;
    assert_error(
        &hidden,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let one = bob.post("/channels/direct", json!([bob_id])).await;
    assert_error(
        &one,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );
    let unknown = bob
        .post("/channels/direct", json!([bob_id, chorus_model::new_id()]))
        .await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.user.missing_account.const",
    );
    // Nobody joins or leaves a direct channel.
    let refused = bob
        .delete(&format!("/channels/{}/members/{carol_id}", id(&direct)))
        .await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "api.channel.remove_user_from_channel.direct.app_error",
    );
    assert_eq!(server.count("channels").await, channels);
    assert_eq!(bob.channel_member_ids(&id(&direct)).await, expected);
    server.stop().await;
}
