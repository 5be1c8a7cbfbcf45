//! The demo's HTTP routes under `/plugins/com.chorus.demo` (the `/cluster` ones are
//! [`crate::cluster`]'s), and how an API failure reads as an HTTP answer.

use crate::cluster::serve_cluster;
use crate::demo::Demo;
use chorus_plugin::{Api, ApiError, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// The plugin's HTTP routes, under `/plugins/com.chorus.demo`:
///
/// - `GET /hello`: `{"user_id": <the signed-in user or null>, "greeting": <Greeting>}`.
/// - `GET /headers`: the request headers as a JSON object (lower-cased names,
///   repeated headers joined with ", "), to see what the server passes on.
/// - `GET /autocomplete/kv-keys`: the plugin's KV keys as Mattermost's autocomplete
///   list items, for `/demo kv get <key>`.
/// - `POST /echo`: the body back, with the request's `Content-Type`.
/// - `GET /kv/<key>`: the value (`application/json` if it is JSON), 404 if absent.
/// - `PUT /kv/<key>`: stores the body; 204.
/// - `/cluster/...`: see [`serve_cluster`].
/// - `POST /interactive/...`: message buttons and dialogs, see [`crate::interactive`].
///
/// The `/kv` routes need a signed-in user (401 otherwise): a plugin's KV store is
/// its own business, not the public's.
pub(crate) async fn serve(demo: &Demo, api: &Api, request: HttpRequest) -> HttpResponse {
    // The server sets Mattermost-User-Id for a signed-in user (and strips any the
    // client sent); `user_id` carries the same value.
    let user_id = request
        .header("Mattermost-User-Id")
        .map(str::to_string)
        .or_else(|| request.user_id.clone());
    let method = request.method.as_str();
    match (method, request.path.as_str()) {
        ("GET", "/hello") => HttpResponse::json(
            200,
            &json!({ "user_id": user_id, "greeting": demo.config().greeting }),
        ),
        ("GET", "/headers") => {
            let mut headers = serde_json::Map::new();
            for (name, value) in &request.headers {
                let name = name.to_ascii_lowercase();
                let joined = match headers.get(&name).and_then(Value::as_str) {
                    Some(previous) => format!("{previous}, {value}"),
                    None => value.clone(),
                };
                headers.insert(name, Value::String(joined));
            }
            HttpResponse::json(200, &headers)
        }
        ("GET", "/autocomplete/kv-keys") => {
            // The dynamic list behind `/demo kv get <key>`: the plugin's keys.
            match api.kv_list("", 0, 200).await {
                Ok(keys) => {
                    let items: Vec<Value> = keys
                        .iter()
                        .map(|k| json!({"Item": k, "Hint": "", "HelpText": "a key of the demo plugin"}))
                        .collect();
                    HttpResponse::json(200, &items)
                }
                Err(err) => api_error_response(&err),
            }
        }
        ("POST", "/echo") => {
            let content_type = request
                .header("Content-Type")
                .unwrap_or("application/octet-stream")
                .to_string();
            HttpResponse::new(200)
                .with_header("Content-Type", content_type)
                .with_body(request.body)
        }
        (_, path) if path.starts_with("/kv/") && path.len() > "/kv/".len() => {
            if user_id.is_none() {
                return HttpResponse::json(
                    401,
                    &json!({ "error": "sign in to use the demo plugin's KV routes" }),
                );
            }
            let key = request.decoded_path()["/kv/".len()..].to_string();
            match method {
                "GET" => match api.kv_get(&key).await {
                    Ok(Some(value)) => {
                        let content_type = if serde_json::from_slice::<Value>(&value).is_ok() {
                            "application/json"
                        } else {
                            "application/octet-stream"
                        };
                        HttpResponse::new(200)
                            .with_header("Content-Type", content_type)
                            .with_body(value)
                    }
                    Ok(None) => {
                        HttpResponse::json(404, &json!({ "error": format!("no key {key:?}") }))
                    }
                    Err(error) => api_error_response(&error),
                },
                "PUT" => match api.kv_set(&key, request.body).await {
                    Ok(()) => HttpResponse::new(204),
                    Err(error) => api_error_response(&error),
                },
                _ => HttpResponse::json(405, &json!({ "error": "use GET or PUT" }))
                    .with_header("Allow", "GET, PUT"),
            }
        }
        (_, path) if path.starts_with("/cluster/") => serve_cluster(api, &request).await,
        ("POST", path) if path.starts_with("/interactive/") => {
            demo.serve_interactive(api, &request).await
        }
        _ => HttpResponse::not_found(),
    }
}

/// An API failure as an HTTP answer, with the status that means the same thing.
pub(crate) fn api_error_response(error: &ApiError) -> HttpResponse {
    let status = match error {
        ApiError::NotFound(_) => 404,
        ApiError::InvalidArgument(_) | ApiError::Json(_) => 400,
        ApiError::PermissionDenied(_) => 403,
        ApiError::AlreadyExists(_) => 409,
        ApiError::Unavailable(_) => 503,
        ApiError::Other { .. } => 500,
    };
    HttpResponse::json(status, &json!({ "error": error.to_string() }))
}
