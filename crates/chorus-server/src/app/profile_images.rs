//! Profile images: a user's uploaded picture (kept as a 128×128 PNG in file storage,
//! so every node serves it whatever the driver) or, when they have none, one
//! generated from their initial. Setting or resetting it bumps the user's
//! `last_picture_update` and tells everyone with `user_updated`.

use super::permissions::require_self_or_admin;
use super::validate::require_id;
use super::Actor;
use crate::error::{AppError, AppResult, Code};
use crate::files::images;
use crate::files::StorageError;
use crate::AppState;
use chorus_model::{now_millis, User};

/// The largest picture accepted, whatever `FileSettings.MaxFileSize` allows: the
/// upload is decoded in memory, so it is kept small (a 4K photo as JPEG fits).
pub const PROFILE_IMAGE_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// A stored picture is a small PNG; anything past this in storage is not one of ours.
const STORED_MAX_BYTES: u64 = 1024 * 1024;

/// A profile image and what identifies this version of it (for `ETag`).
#[derive(Debug)]
pub struct ProfileImage {
    pub png: Vec<u8>,
    pub version: i64,
}

fn stored_path(user_id: &str) -> String {
    format!("users/{user_id}/profile.png")
}

impl AppState {
    /// The most a profile image upload may be.
    pub fn profile_image_limit(&self) -> u64 {
        self.config
            .file_settings
            .max_file_size
            .min(PROFILE_IMAGE_MAX_BYTES)
    }

    /// Who may change a user's picture: the user and admins (and plugins).
    fn profile_owner(&self, actor: Actor<'_>, user_id: &str) -> AppResult<()> {
        require_id(user_id, "user_id")?;
        require_self_or_admin(actor, user_id)
    }

    /// A user's picture as everyone signed in sees it: the one they set, else the
    /// generated one (also when the stored one has gone missing).
    pub async fn profile_image(&self, user_id: &str) -> AppResult<ProfileImage> {
        let user = self.any_user(user_id).await?;
        if user.last_picture_update > 0 {
            match self
                .files
                .read_all(&stored_path(&user.id), STORED_MAX_BYTES)
                .await
            {
                Ok(png) => {
                    return Ok(ProfileImage {
                        png,
                        version: user.last_picture_update,
                    })
                }
                Err(StorageError::Missing(path)) => {
                    tracing::warn!(user_id = %user.id, %path, "profile image missing from storage; serving the generated one");
                }
                Err(err) => return Err(err.into()),
            }
        }
        self.generated_profile_image(&user).await
    }

    /// The picture generated for a user, whether or not they set their own.
    pub async fn default_profile_image(&self, user_id: &str) -> AppResult<ProfileImage> {
        let user = self.any_user(user_id).await?;
        self.generated_profile_image(&user).await
    }

    async fn generated_profile_image(&self, user: &User) -> AppResult<ProfileImage> {
        let (id, username) = (user.id.clone(), user.username.clone());
        let png = self
            .previewer
            .run_image_job(move |_| images::default_profile_image(&id, &username))
            .await?;
        Ok(ProfileImage {
            png,
            version: user.last_picture_update.min(0),
        })
    }

    /// Sets a user's picture from an uploaded PNG, JPEG, GIF or WebP: checked for
    /// its declared size before it is decoded, cropped square, stored as PNG.
    pub async fn set_profile_image(
        &self,
        actor: Actor<'_>,
        user_id: &str,
        data: Vec<u8>,
    ) -> AppResult<()> {
        self.profile_owner(actor, user_id)?;
        let user = self.any_user(user_id).await?;
        if data.len() as u64 > self.profile_image_limit() {
            return Err(Code::ProfileImageTooLarge.with_message(format!(
                "A profile image may be at most {} bytes.",
                self.profile_image_limit()
            )));
        }
        let probe = images::probe(&data[..data.len().min(images::PROBE_BYTES)])
            .ok_or_else(|| AppError::from(Code::ProfileImageDecode))?;
        let max_pixels = self.config.file_settings.max_image_resolution;
        if u64::from(probe.width) * u64::from(probe.height) > max_pixels {
            return Err(Code::ProfileImageTooManyPixels.with_message(format!(
                "The image is {}×{} pixels; this server takes at most {max_pixels} \
                 (FileSettings.MaxImageResolution).",
                probe.width, probe.height
            )));
        }
        let png = self
            .previewer
            .run_image_job(move |max_pixels| images::profile_image(&data, max_pixels))
            .await?
            .map_err(|err| AppError::from(Code::ProfileImageDecode).with_detail(err.to_string()))?;
        self.files.write_all(&stored_path(&user.id), &png).await?;
        self.picture_changed(&user.id, now_millis()).await
    }

    /// Goes back to the generated picture.
    pub async fn reset_profile_image(&self, actor: Actor<'_>, user_id: &str) -> AppResult<()> {
        self.profile_owner(actor, user_id)?;
        let user = self.any_user(user_id).await?;
        self.files.remove(&stored_path(&user.id)).await?;
        self.picture_changed(&user.id, -now_millis()).await
    }

    async fn picture_changed(&self, user_id: &str, at: i64) -> AppResult<()> {
        if !self.store.set_last_picture_update(user_id, at).await? {
            return Err(Code::UserNotFound.into());
        }
        self.publish_user_updated(user_id).await
    }
}
