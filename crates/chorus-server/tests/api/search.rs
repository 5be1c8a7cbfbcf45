//! Post search with Mattermost's terms, on each backend's full-text index: stemmed
//! words, phrases, prefixes, exclusions, hashtags, from:, in:, dates, OR searches and
//! paging, only over channels the searcher is in; odd and huge terms answered with
//! Mattermost's errors, never a failure.

use crate::both_backends;
use crate::common::{assert_error, id, Api, Backend, Endpoint, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(posts_are_found_by_their_words, search_filters_and_bad_terms,);

async fn search(api: &Api, team_id: &str, body: Value) -> Value {
    let (status, found) = api
        .post(&format!("/teams/{team_id}/posts/search"), body)
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found
}

/// The messages found, in order.
async fn found(api: &Api, team_id: &str, terms: &str) -> Vec<String> {
    messages(&search(api, team_id, json!({"terms": terms})).await)
}

fn messages(results: &Value) -> Vec<String> {
    results["order"]
        .as_array()
        .unwrap_or_else(|| panic!("no order in {results}"))
        .iter()
        .map(|id| {
            results["posts"][id.as_str().unwrap()]["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

struct World {
    server: TestServer,
    alice: Api,
    bob: Api,
    team_id: String,
    plans: String,
}

async fn world(backend: Backend) -> Option<World> {
    let server = TestServer::start(backend).await?;
    let (alice, alice_user) = server.user("alice").await;
    let team_id = id(&alice.team("crew").await);
    let (bob, bob_user) = server.member(&alice, &team_id, "bob").await;
    let plans = id(&alice.channel(&team_id, "plans", "O").await);
    alice.add_to_channel(&plans, &id(&bob_user)).await;
    let secret = id(&alice.channel(&team_id, "secret", "P").await);
    let (_, direct) = alice
        .post("/channels/direct", json!([id(&alice_user), id(&bob_user)]))
        .await;
    alice
        .create_post(&plans, "Deploying the release today")
        .await;
    bob.create_post(&plans, "release notes are ready #Ship")
        .await;
    alice.create_post(&secret, "secret release plan").await;
    alice
        .create_post(&id(&direct), "the release, between us")
        .await;
    bob.create_post(&plans, "lunch at noon? 日本語 😀").await;
    // A system message never shows in results.
    alice
        .put(
            &format!("/channels/{plans}/patch"),
            json!({"header": "release channel"}),
        )
        .await;
    Some(World {
        server,
        alice,
        bob,
        team_id,
        plans,
    })
}

async fn posts_are_found_by_their_words(backend: Backend) {
    let Some(World {
        server,
        alice,
        bob,
        team_id,
        plans,
    }) = world(backend).await
    else {
        return;
    };
    // Only channels bob is in (not alice's private one), newest first; the words found
    // come back for highlighting.
    let results = search(&bob, &team_id, json!({"terms": "release"})).await;
    assert_eq!(
        messages(&results),
        vec![
            "the release, between us",
            "release notes are ready #Ship",
            "Deploying the release today"
        ]
    );
    let first = results["order"][0].as_str().unwrap();
    assert_eq!(results["matches"][first], json!(["release"]));
    assert_eq!(results["has_next"], false);
    assert_eq!(
        found(&alice, &team_id, "release").await.len(),
        4,
        "alice sees her private channel"
    );
    // Stemming, case, prefixes, phrases, exclusions, OR.
    assert_eq!(
        found(&bob, &team_id, "DEPLOY").await,
        vec!["Deploying the release today"]
    );
    assert_eq!(
        found(&bob, &team_id, "depl*").await,
        vec!["Deploying the release today"]
    );
    assert_eq!(
        found(&bob, &team_id, "\"release notes\"").await,
        vec!["release notes are ready #Ship"]
    );
    assert!(found(&bob, &team_id, "\"notes release\"").await.is_empty());
    assert_eq!(
        found(&bob, &team_id, "release -notes -\"between us\"").await,
        vec!["Deploying the release today"]
    );
    let either = search(
        &bob,
        &team_id,
        json!({"terms": "deploying lunch", "is_or_search": true}),
    )
    .await;
    assert_eq!(messages(&either).len(), 2);
    assert!(found(&bob, &team_id, "deploying lunch").await.is_empty());
    // Hashtags, any case; unicode and emoji.
    assert_eq!(
        found(&bob, &team_id, "#ship").await,
        vec!["release notes are ready #Ship"]
    );
    assert_eq!(found(&bob, &team_id, "release -#SHIP").await.len(), 2);
    assert_eq!(
        found(&bob, &team_id, "日本語").await,
        vec!["lunch at noon? 日本語 😀"]
    );
    assert!(
        found(&bob, &team_id, "😀").await.is_empty(),
        "emoji are no words"
    );
    // Paging.
    let page = search(&bob, &team_id, json!({"terms": "release", "per_page": 2})).await;
    assert_eq!(
        (messages(&page).len(), page["has_next"].clone()),
        (2, json!(true))
    );
    let page = search(
        &bob,
        &team_id,
        json!({"terms": "release", "per_page": 2, "page": 1}),
    )
    .await;
    assert_eq!(messages(&page), vec!["Deploying the release today"]);
    // Edits and deletes are searched as they are now.
    let (_, posts) = bob.get(&format!("/channels/{plans}/posts")).await;
    let lunch = posts["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| &posts["posts"][id.as_str().unwrap()])
        .find(|p| p["message"].as_str().unwrap().starts_with("lunch"))
        .unwrap()
        .clone();
    let (status, _) = bob
        .put(
            &format!("/posts/{}/patch", id(&lunch)),
            json!({"message": "dinner instead"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(found(&bob, &team_id, "lunch").await.is_empty());
    assert_eq!(
        found(&bob, &team_id, "dinner").await,
        vec!["dinner instead"]
    );
    bob.delete(&format!("/posts/{}", id(&lunch))).await;
    assert!(found(&bob, &team_id, "dinner").await.is_empty());
    // Every team: a post in another team is found by POST /posts/search.
    let other = id(&alice.team("elsewhere").await);
    let town = id(&alice.channel_named(&other, "town-square").await);
    alice.create_post(&town, "release elsewhere").await;
    assert_eq!(
        found(&alice, &team_id, "elsewhere").await,
        Vec::<String>::new()
    );
    let (status, everywhere) = alice
        .post("/posts/search", json!({"terms": "elsewhere"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{everywhere}");
    assert_eq!(messages(&everywhere), vec!["release elsewhere"]);
    server.stop().await;
}

async fn search_filters_and_bad_terms(backend: Backend) {
    let Some(World {
        server,
        alice,
        bob,
        team_id,
        ..
    }) = world(backend).await
    else {
        return;
    };
    assert_eq!(
        found(&bob, &team_id, "release from:alice").await,
        vec!["the release, between us", "Deploying the release today"]
    );
    assert_eq!(
        found(&bob, &team_id, "release -from:@alice").await,
        vec!["release notes are ready #Ship"]
    );
    // Operators alone search too.
    assert_eq!(found(&bob, &team_id, "from:bob").await.len(), 2);
    assert_eq!(found(&bob, &team_id, "release in:plans").await.len(), 2);
    assert_eq!(
        found(&bob, &team_id, "release in:@alice").await,
        vec!["the release, between us"]
    );
    assert_eq!(found(&bob, &team_id, "release -in:plans").await.len(), 1);
    // Unknown people and channels (or ones bob is not in) find nothing.
    assert!(found(&bob, &team_id, "release from:nobody")
        .await
        .is_empty());
    assert!(found(&bob, &team_id, "release in:secret").await.is_empty());
    // Dates are the searcher's days.
    let today = time::OffsetDateTime::now_utc().date();
    let yesterday = today.previous_day().unwrap();
    let tomorrow = today.next_day().unwrap();
    assert_eq!(
        found(&bob, &team_id, &format!("release on:{today}"))
            .await
            .len(),
        3
    );
    assert_eq!(
        found(&bob, &team_id, &format!("release after:{yesterday}"))
            .await
            .len(),
        3
    );
    assert!(found(&bob, &team_id, &format!("release after:{today}"))
        .await
        .is_empty());
    assert!(found(&bob, &team_id, &format!("release before:{today}"))
        .await
        .is_empty());
    assert_eq!(
        found(&bob, &team_id, &format!("release before:{tomorrow}"))
            .await
            .len(),
        3
    );
    // Terms that narrow nothing find nothing rather than everything.
    for terms in ["", "   ", "from:", "in:", "***", "\"\"", "-", "-release"] {
        assert!(found(&bob, &team_id, terms).await.is_empty(), "{terms:?}");
    }
    // SQL and query-language syntax is just text.
    for terms in [
        "' OR 1=1 --",
        "release & !",
        "release) | (x",
        "NEAR(release notes)",
        "\"release",
    ] {
        let (status, _) = bob
            .post(
                &format!("/teams/{team_id}/posts/search"),
                json!({"terms": terms}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{terms}");
    }
    // Refused: bad dates, huge terms, too many words, bad paging, other teams.
    let refused = |body: Value| {
        let bob = bob.clone();
        let team_id = team_id.clone();
        async move {
            let reply = bob
                .post(&format!("/teams/{team_id}/posts/search"), body)
                .await;
            assert_error(
                &reply,
                StatusCode::BAD_REQUEST,
                "api.context.invalid_param.app_error",
            );
            reply.1["message"].as_str().unwrap().to_owned()
        }
    };
    assert!(refused(json!({"terms": "before:yesterday"}))
        .await
        .contains("YYYY-MM-DD"));
    refused(json!({"terms": "x".repeat(5000)})).await;
    refused(json!({"terms": "word ".repeat(50)})).await;
    refused(json!({"terms": "release", "per_page": 1000})).await;
    refused(json!({"terms": "release", "page": -1})).await;
    refused(json!({"terms": "release", "time_zone_offset": 1_000_000})).await;
    let (outsider, _) = server.user("eve").await;
    let reply = outsider
        .post(
            &format!("/teams/{team_id}/posts/search"),
            json!({"terms": "release"}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::FORBIDDEN,
        "api.context.permissions.app_error",
    );
    let reply = alice
        .post("/teams/nope/posts/search", json!({"terms": "release"}))
        .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "api.context.invalid_url_param.app_error",
    );
    server.stop().await;
}
