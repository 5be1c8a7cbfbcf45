//! Teams: creation with default channels, reads, and membership.

use crate::both_backends;
use crate::common::{assert_error, id, ids, Api, Backend, Endpoint, TestServer};
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    creator_is_team_admin_in_default_channels,
    duplicate_and_invalid_team_names_refused,
    read_team_by_id_and_name,
    teams_of_a_user_are_private_to_them,
    self_join_open_team_lands_in_default_channels,
    invite_only_team_refuses_self_join,
    team_admin_adds_members,
    team_members_listed_for_members_only,
);

/// Names of the channels `api`'s user is in on `team_id`, sorted.
async fn my_channel_names(api: &Api, team_id: &str) -> Vec<String> {
    let (status, channels) = api
        .get(&format!("/users/me/teams/{team_id}/channels"))
        .await;
    assert_eq!(status, StatusCode::OK, "{channels}");
    let mut names: Vec<String> = channels
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn member_roles(api: &Api, team_id: &str) -> Vec<(String, String)> {
    let (status, members) = api.get(&format!("/teams/{team_id}/members")).await;
    assert_eq!(status, StatusCode::OK, "{members}");
    let mut roles: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_string(),
                m["roles"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    roles.sort();
    roles
}

async fn creator_is_team_admin_in_default_channels(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (status, team) = bob
        .post(
            "/teams",
            json!({"name": "crew", "display_name": "The Crew", "type": "O", "description": "all of us"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    assert_eq!(id(&team).len(), 26);
    assert_eq!(team["name"], "crew");
    assert_eq!(team["display_name"], "The Crew");
    assert_eq!(team["description"], "all of us");
    assert_eq!(team["type"], "O");
    assert_eq!(team["allow_open_invite"], true);
    assert_eq!(team["delete_at"], 0);
    assert!(team["create_at"].as_i64().unwrap() > 0);
    let team_id = id(&team);

    let (status, members) = bob.get(&format!("/teams/{team_id}/members")).await;
    assert_eq!(status, StatusCode::OK);
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["user_id"], bob_user["id"]);
    assert_eq!(members[0]["team_id"], team["id"]);
    assert_eq!(members[0]["roles"], "team_user team_admin");
    assert_eq!(members[0]["scheme_admin"], true);
    assert_eq!(members[0]["scheme_user"], true);

    assert_eq!(
        my_channel_names(&bob, &team_id).await,
        ["off-topic", "town-square"]
    );
    for (name, display_name) in [("town-square", "Town Square"), ("off-topic", "Off-Topic")] {
        let channel = bob.channel_named(&team_id, name).await;
        assert_eq!(channel["display_name"], display_name);
        assert_eq!(channel["type"], "O");
        assert_eq!(channel["team_id"], team["id"]);
        assert_eq!(bob.channel_member_ids(&id(&channel)).await, [id(&bob_user)]);
    }
    let (status, teams) = bob.get("/users/me/teams").await;
    assert_eq!((status, ids(&teams)), (StatusCode::OK, vec![team_id]));

    let (status, team) = bob
        .post(
            "/teams",
            json!({"name": "closed", "display_name": "Closed", "type": "I"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&team["type"], &team["allow_open_invite"]),
        (&json!("I"), &json!(false))
    );
    server.stop().await;
}

async fn duplicate_and_invalid_team_names_refused(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let team = alice.team("crew").await;
    let teams_before = server.count("teams").await;
    let channels_before = server.count("channels").await;
    let members_before = server.count("channel_members").await;

    let duplicate = bob
        .post(
            "/teams",
            json!({"name": "crew", "display_name": "Another crew"}),
        )
        .await;
    assert_error(
        &duplicate,
        StatusCode::BAD_REQUEST,
        "store.sql_team.save_team.existing.app_error",
    );
    for name in [
        "c",
        "Crew2",
        "bad name",
        "-crew",
        "api",
        "crew!",
        &"a".repeat(65),
        "",
    ] {
        let reply = bob
            .post("/teams", json!({"name": name, "display_name": "X"}))
            .await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "model.team.is_valid.name.app_error",
        );
    }
    let no_display_name = bob
        .post("/teams", json!({"name": "fine-name", "display_name": " "}))
        .await;
    assert_error(
        &no_display_name,
        StatusCode::BAD_REQUEST,
        "model.team.is_valid.name.app_error",
    );
    let bad_type = bob
        .post(
            "/teams",
            json!({"name": "fine-name", "display_name": "X", "type": "P"}),
        )
        .await;
    assert_error(
        &bad_type,
        StatusCode::BAD_REQUEST,
        "model.team.is_valid.type.app_error",
    );

    // Nothing half-written: no team, no default channels, no memberships.
    assert_eq!(server.count("teams").await, teams_before);
    assert_eq!(server.count("channels").await, channels_before);
    assert_eq!(server.count("channel_members").await, members_before);
    assert_eq!(server.count("team_members").await, 1);
    let (_, bobs) = bob.get("/users/me/teams").await;
    assert_eq!(bobs, json!([]));
    let (_, original) = alice.get("/teams/name/crew").await;
    assert_eq!(original, team);
    let missing = alice.get("/teams/name/fine-name").await;
    assert_error(
        &missing,
        StatusCode::NOT_FOUND,
        "app.team.get_by_name.missing.app_error",
    );
    server.stop().await;
}

async fn read_team_by_id_and_name(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let (carol, _) = server.user("carol").await;
    let open = bob.team("open-team").await;
    let (status, closed) = bob
        .post(
            "/teams",
            json!({"name": "closed", "display_name": "Closed", "type": "I"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Those who do not manage the team see it without its invite id and email.
    let mut sanitized = open.clone();
    sanitized["invite_id"] = json!("");
    sanitized["email"] = json!("");
    for (reader, expected) in [(&bob, &open), (&carol, &sanitized), (&alice, &open)] {
        let (status, team) = reader.get(&format!("/teams/{}", id(&open))).await;
        assert_eq!((status, &team), (StatusCode::OK, expected));
        let (status, team) = reader.get("/teams/name/open-team").await;
        assert_eq!((status, &team), (StatusCode::OK, expected));
    }
    // An invite-only team is visible to its members and admins only.
    for reader in [&bob, &alice] {
        let (status, team) = reader.get(&format!("/teams/{}", id(&closed))).await;
        assert_eq!((status, &team), (StatusCode::OK, &closed));
    }
    let hidden = carol.get(&format!("/teams/{}", id(&closed))).await;
    assert_error(
        &hidden,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let hidden = carol.get("/teams/name/closed").await;
    assert_error(
        &hidden,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    let unknown = bob.get(&format!("/teams/{}", chorus_model::new_id())).await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.team.get.find.app_error",
    );
    let unknown = bob.get("/teams/name/nothing-here").await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.team.get_by_name.missing.app_error",
    );
    let invalid = bob.get("/teams/not-an-id").await;
    assert_error(
        &invalid,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}

async fn teams_of_a_user_are_private_to_them(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (carol, _) = server.user("carol").await;
    let first = bob.team("first").await;
    let second = bob.team("second").await;
    let mut expected = vec![id(&first), id(&second)];
    expected.sort();

    for (reader, path) in [
        (&bob, "/users/me/teams".to_string()),
        (&bob, format!("/users/{}/teams", id(&bob_user))),
        (&alice, format!("/users/{}/teams", id(&bob_user))),
    ] {
        let (status, teams) = reader.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {teams}");
        let mut got = ids(&teams);
        got.sort();
        assert_eq!(got, expected);
    }
    let refused = carol.get(&format!("/users/{}/teams", id(&bob_user))).await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let (status, none) = carol.get("/users/me/teams").await;
    assert_eq!((status, none), (StatusCode::OK, json!([])));
    server.stop().await;
}

async fn self_join_open_team_lands_in_default_channels(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let team = alice.team("crew").await;
    let team_id = id(&team);
    alice.channel(&team_id, "extra", "O").await;

    let body = json!({"team_id": team_id, "user_id": id(&bob_user)});
    let (status, member) = bob
        .post(&format!("/teams/{team_id}/members"), body.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["user_id"], bob_user["id"]);
    assert_eq!(member["team_id"], team["id"]);
    assert_eq!(member["roles"], "team_user");
    assert_eq!(member["scheme_admin"], false);
    assert_eq!(
        my_channel_names(&bob, &team_id).await,
        ["off-topic", "town-square"]
    );
    let town_square = bob.channel_named(&team_id, "town-square").await;
    let mut expected = vec![id(&alice_user), id(&bob_user)];
    expected.sort();
    assert_eq!(bob.channel_member_ids(&id(&town_square)).await, expected);

    // Joining again changes nothing.
    let (status, again) = bob.post(&format!("/teams/{team_id}/members"), body).await;
    assert_eq!((status, &again), (StatusCode::CREATED, &member));
    assert_eq!(member_roles(&alice, &team_id).await.len(), 2);
    assert_eq!(bob.channel_member_ids(&id(&town_square)).await, expected);

    let mismatch = bob
        .post(
            &format!("/teams/{team_id}/members"),
            json!({"team_id": chorus_model::new_id(), "user_id": id(&bob_user)}),
        )
        .await;
    assert_error(
        &mismatch,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_body_param.app_error",
    );
    let unknown_user = bob
        .post(
            &format!("/teams/{team_id}/members"),
            json!({"user_id": chorus_model::new_id()}),
        )
        .await;
    assert_error(
        &unknown_user,
        StatusCode::NOT_FOUND,
        "app.user.missing_account.const",
    );
    let unknown_team = bob
        .post(
            &format!("/teams/{}/members", chorus_model::new_id()),
            json!({"user_id": id(&bob_user)}),
        )
        .await;
    assert_error(
        &unknown_team,
        StatusCode::NOT_FOUND,
        "app.team.get.find.app_error",
    );
    server.stop().await;
}

async fn invite_only_team_refuses_self_join(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, alice_user) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    let (status, team) = bob
        .post(
            "/teams",
            json!({"name": "closed", "display_name": "Closed", "type": "I"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let team_id = id(&team);
    let town_square = bob.channel_named(&team_id, "town-square").await;
    let members_before = server.count("channel_members").await;

    let refused = carol
        .post(
            &format!("/teams/{team_id}/members"),
            json!({"team_id": team_id, "user_id": id(&carol_user)}),
        )
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_eq!(member_roles(&bob, &team_id).await.len(), 1);
    assert_eq!(server.count("team_members").await, 1);
    assert_eq!(server.count("channel_members").await, members_before);
    let (_, teams) = carol.get("/users/me/teams").await;
    assert_eq!(teams, json!([]));
    let not_member = carol
        .get(&format!("/channels/{}/posts", id(&town_square)))
        .await;
    assert_error(
        &not_member,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );

    // A system admin may join any team.
    alice.add_to_team(&team_id, &id(&alice_user)).await;
    assert_eq!(member_roles(&bob, &team_id).await.len(), 2);
    server.stop().await;
}

async fn team_admin_adds_members(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    let (_, dave_user) = server.user("dave").await;
    let (status, team) = bob
        .post(
            "/teams",
            json!({"name": "closed", "display_name": "Closed", "type": "I"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let team_id = id(&team);

    // Bob is no system admin, but he is this team's admin.
    bob.add_to_team(&team_id, &id(&carol_user)).await;
    assert_eq!(
        my_channel_names(&carol, &team_id).await,
        ["off-topic", "town-square"]
    );
    let town_square = carol.channel_named(&team_id, "town-square").await;
    assert!(carol
        .channel_member_ids(&id(&town_square))
        .await
        .contains(&id(&carol_user)));
    let roles: Vec<String> = member_roles(&bob, &team_id)
        .await
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert!(
        roles.contains(&"team_user".to_string())
            && roles.contains(&"team_user team_admin".to_string())
    );

    // Carol is a plain member: she cannot add others.
    let refused = carol
        .post(
            &format!("/teams/{team_id}/members"),
            json!({"team_id": team_id, "user_id": id(&dave_user)}),
        )
        .await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    assert_eq!(member_roles(&bob, &team_id).await.len(), 2);
    server.stop().await;
}

async fn team_members_listed_for_members_only(backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    let (dave, _) = server.user("dave").await;
    let (status, team) = bob
        .post(
            "/teams",
            json!({"name": "closed", "display_name": "Closed", "type": "I"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let team_id = id(&team);
    bob.add_to_team(&team_id, &id(&carol_user)).await;

    let mut expected = vec![id(&bob_user), id(&carol_user)];
    expected.sort();
    for reader in [&bob, &carol, &alice] {
        let got: Vec<String> = member_roles(reader, &team_id)
            .await
            .into_iter()
            .map(|(u, _)| u)
            .collect();
        assert_eq!(got, expected);
    }
    let mut paged = Vec::new();
    for page in 0..2 {
        let (status, members) = carol
            .get(&format!("/teams/{team_id}/members?page={page}&per_page=1"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let members = members.as_array().unwrap();
        assert_eq!(members.len(), 1);
        paged.push(members[0]["user_id"].as_str().unwrap().to_string());
    }
    assert_eq!(paged, expected);

    let refused = dave.get(&format!("/teams/{team_id}/members")).await;
    assert_error(
        &refused,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let unknown = dave
        .get(&format!("/teams/{}/members", chorus_model::new_id()))
        .await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "app.team.get.find.app_error",
    );
    server.stop().await;
}
