//! Uploaded files: the `FileInfo` every file route and `metadata.files` answers, and
//! the reply of `POST /files`.

use serde::{Deserialize, Serialize};

/// The uploader (`user_id`) of files a plugin uploads: no user, so that any author may
/// attach them to a post in their channel, as in Mattermost.
pub const PLUGIN_FILE_OWNER: &str = "nouser";

/// One uploaded file, as Mattermost spells it. `post_id` is absent until the file is
/// attached to a post, `width`/`height`/`has_preview_image` absent for files that are
/// not images Chorus can decode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FileInfo {
    pub id: String,
    /// The uploader (Mattermost's `CreatorId`).
    pub user_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub post_id: String,
    pub channel_id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub name: String,
    /// Lower case, without the dot; empty when the name has none.
    pub extension: String,
    pub size: i64,
    pub mime_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub width: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub height: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub has_preview_image: bool,
    /// A 16×16 JPEG of an image, base64, once its previews are made; `null` otherwise.
    pub mini_preview: Option<String>,
    pub remote_id: String,
    pub archived: bool,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// `POST /files`: the stored files, and the client's ids for them in the same order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FileUploadResponse {
    pub file_infos: Vec<FileInfo>,
    pub client_ids: Vec<String>,
}
