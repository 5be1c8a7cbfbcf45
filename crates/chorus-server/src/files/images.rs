//! Images: their dimensions read from the first bytes of an upload (so that a
//! decompression bomb is refused before it is stored, let alone decoded), and the
//! thumbnail (120×100), preview (1920 wide) and 16×16 mini preview Mattermost's
//! clients show, with the `image` crate. Decoding is blocking work: callers run it on
//! the blocking pool, a few at a time.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::io::Cursor;

/// How much of an upload is read before its dimensions are judged: enough for the
/// headers of PNG, GIF and WebP, and for JPEGs whose EXIF block (camera thumbnails
/// included) comes before the frame header.
pub const PROBE_BYTES: usize = 512 * 1024;

pub const THUMBNAIL_WIDTH: u32 = 120;
pub const THUMBNAIL_HEIGHT: u32 = 100;
pub const PREVIEW_WIDTH: u32 = 1920;
const MINI_PREVIEW_SIDE: u32 = 16;
const JPEG_QUALITY: u8 = 90;

/// The image types that get thumbnails and previews.
pub fn is_previewable(mime_type: &str) -> bool {
    matches!(
        mime_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// What the first bytes of an image say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// As shown (after the EXIF orientation), in pixels.
    pub width: u32,
    pub height: u32,
}

/// The dimensions an image declares, or `None` when the bytes are not an image of a
/// type Chorus decodes (a text file named `.png` is stored, without previews).
pub fn probe(prefix: &[u8]) -> Option<Probe> {
    let reader = ImageReader::new(Cursor::new(prefix))
        .with_guessed_format()
        .ok()?;
    reader.format().filter(is_decoded_format)?;
    let mut decoder = reader.into_decoder().ok()?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return None;
    }
    let turned = decoder.orientation().is_ok_and(|o| {
        use image::metadata::Orientation::*;
        matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH)
    });
    Some(if turned {
        Probe {
            width: height,
            height: width,
        }
    } else {
        Probe { width, height }
    })
}

fn is_decoded_format(format: &ImageFormat) -> bool {
    matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    )
}

/// Decodes `data` (a PNG, JPEG, GIF or WebP of no more than `max_pixels`, whatever it
/// declares), turned upright by its EXIF orientation.
fn decode(
    data: &[u8],
    max_pixels: u64,
) -> Result<(DynamicImage, Option<ImageFormat>), image::ImageError> {
    let mut reader = ImageReader::new(Cursor::new(data)).with_guessed_format()?;
    let format = reader.format();
    if !format.as_ref().is_some_and(is_decoded_format) {
        return Err(image::ImageError::Unsupported(
            image::error::UnsupportedError::from_format_and_kind(
                image::error::ImageFormatHint::Unknown,
                image::error::UnsupportedErrorKind::Format(image::error::ImageFormatHint::Unknown),
            ),
        ));
    }
    let mut limits = image::Limits::default();
    // Four bytes a pixel, twice over for the conversions, is what decoding may take.
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(image::ImageError::Limits(
            image::error::LimitError::from_kind(image::error::LimitErrorKind::DimensionError),
        ));
    }
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder)?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    Ok((image, format))
}

/// The side of a stored profile image (Mattermost's `FileSettings.ProfileWidth` and
/// `ProfileHeight` defaults).
pub const PROFILE_SIDE: u32 = 128;

/// A user's uploaded picture as it is kept: cropped to a square around its centre,
/// scaled to [`PROFILE_SIDE`], as PNG.
pub fn profile_image(data: &[u8], max_pixels: u64) -> Result<Vec<u8>, image::ImageError> {
    let (image, _) = decode(data, max_pixels)?;
    let square = image.resize_to_fill(
        PROFILE_SIDE,
        PROFILE_SIDE,
        image::imageops::FilterType::Triangle,
    );
    encode(&square, true)
}

/// Background colours of generated profile images: mid tones white text reads on.
const PROFILE_COLOURS: [[u8; 3]; 8] = [
    [0x1f, 0x6f, 0xb2],
    [0x2e, 0x8b, 0x57],
    [0xb0, 0x4a, 0x2f],
    [0x7b, 0x4f, 0xa8],
    [0x0f, 0x7c, 0x86],
    [0xa8, 0x3f, 0x6b],
    [0x5c, 0x6b, 0x1f],
    [0x8a, 0x5a, 0x12],
];

/// The picture of a user who never set one: the first letter of their username, white
/// on a colour chosen by their id, as Mattermost draws it. The letter comes from the
/// `font8x8` bitmap font, scaled up, so no font file is needed at run time.
pub fn default_profile_image(user_id: &str, username: &str) -> Vec<u8> {
    use font8x8::UnicodeFonts;
    let hash = user_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let background = PROFILE_COLOURS[hash as usize % PROFILE_COLOURS.len()];
    let initial = username
        .chars()
        .next()
        .map_or('?', |c| c.to_ascii_uppercase());
    let glyph = font8x8::BASIC_FONTS
        .get(initial)
        .or_else(|| font8x8::BASIC_FONTS.get('?'))
        .unwrap_or([0; 8]);
    // Each of the glyph's 8×8 dots becomes a SCALE×SCALE block in the middle.
    const SCALE: u32 = 8;
    let offset = (PROFILE_SIDE - 8 * SCALE) / 2;
    let image = image::RgbImage::from_fn(PROFILE_SIDE, PROFILE_SIDE, |x, y| {
        let inside =
            (offset..offset + 8 * SCALE).contains(&x) && (offset..offset + 8 * SCALE).contains(&y);
        let dot = inside && {
            let (col, row) = ((x - offset) / SCALE, (y - offset) / SCALE);
            // font8x8 keeps the leftmost dot of a row in its lowest bit.
            glyph[row as usize] & (1 << col) != 0
        };
        image::Rgb(if dot { [0xff; 3] } else { background })
    });
    encode(&DynamicImage::ImageRgb8(image), true)
        .expect("encoding an RGB image in memory as PNG cannot fail")
}

/// The encoded thumbnail, preview and mini preview of one image.
#[derive(Debug)]
pub struct Previews {
    pub thumbnail: Vec<u8>,
    pub preview: Vec<u8>,
    pub mini_preview: Vec<u8>,
}

/// Decodes `data` (no more than `max_pixels`, whatever it declares) and makes its
/// previews: PNG for PNG images (they may be transparent), JPEG otherwise.
pub fn make_previews(data: &[u8], max_pixels: u64) -> Result<Previews, image::ImageError> {
    let (image, format) = decode(data, max_pixels)?;
    let png = format == Some(ImageFormat::Png);
    let thumbnail = {
        let (w, h) = (image.width(), image.height());
        // Mattermost's rule: landscape images are 120 wide, the rest 100 high.
        let (tw, th) = if w > h {
            (THUMBNAIL_WIDTH, scaled(h, THUMBNAIL_WIDTH, w))
        } else {
            (scaled(w, THUMBNAIL_HEIGHT, h), THUMBNAIL_HEIGHT)
        };
        image.resize_exact(tw, th, image::imageops::FilterType::Triangle)
    };
    let preview = if image.width() > PREVIEW_WIDTH {
        let height = scaled(image.height(), PREVIEW_WIDTH, image.width());
        image.resize_exact(PREVIEW_WIDTH, height, image::imageops::FilterType::Triangle)
    } else {
        image.clone()
    };
    let mini = image.resize_exact(
        MINI_PREVIEW_SIDE,
        MINI_PREVIEW_SIDE,
        image::imageops::FilterType::Triangle,
    );
    Ok(Previews {
        thumbnail: encode(&thumbnail, png)?,
        preview: encode(&preview, png)?,
        mini_preview: encode(&mini, false)?,
    })
}

/// `side` scaled by `to / from`, at least one pixel.
fn scaled(side: u32, to: u32, from: u32) -> u32 {
    ((u64::from(side) * u64::from(to)) / u64::from(from.max(1))).max(1) as u32
}

fn encode(image: &DynamicImage, png: bool) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    if png {
        image.write_to(&mut out, ImageFormat::Png)?;
    } else {
        let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
        rgb.write_with_encoder(encoder)?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = DynamicImage::new_rgba8(width, height);
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn probes_dimensions_from_the_header_alone() {
        let data = png(300, 200);
        assert_eq!(
            probe(&data[..64]),
            Some(Probe {
                width: 300,
                height: 200
            })
        );
        assert_eq!(probe(b"not an image at all"), None);
    }

    #[test]
    fn thumbnails_fit_mattermost_sizes() {
        let previews = make_previews(&png(400, 200), 1 << 30).unwrap();
        let thumb = image::load_from_memory(&previews.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (120, 60));
        let portrait = make_previews(&png(100, 400), 1 << 30).unwrap();
        let thumb = image::load_from_memory(&portrait.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (25, 100));
        let mini = image::load_from_memory(&previews.mini_preview).unwrap();
        assert_eq!((mini.width(), mini.height()), (16, 16));
    }

    #[test]
    fn profile_images_are_square_pngs() {
        let stored = profile_image(&png(400, 200), 1 << 30).unwrap();
        assert_eq!(image::guess_format(&stored).unwrap(), ImageFormat::Png);
        let side = image::load_from_memory(&stored).unwrap();
        assert_eq!((side.width(), side.height()), (PROFILE_SIDE, PROFILE_SIDE));
        assert!(profile_image(b"GIF89a but not really", 1 << 30).is_err());
        assert!(profile_image(&png(400, 200), 1000).is_err());
    }

    #[test]
    fn default_profile_images_draw_the_initial_on_the_users_colour() {
        let a = image::load_from_memory(&default_profile_image("aaaa", "alice"))
            .unwrap()
            .to_rgb8();
        assert_eq!(a.dimensions(), (PROFILE_SIDE, PROFILE_SIDE));
        let corner = *a.get_pixel(0, 0);
        assert_ne!(corner, image::Rgb([0xff; 3]));
        let white = a.pixels().filter(|p| **p == image::Rgb([0xff; 3])).count();
        assert!(white > 0, "the letter is drawn");
        // Another letter draws other dots; the same user always gets the same picture.
        let b = image::load_from_memory(&default_profile_image("aaaa", "bob"))
            .unwrap()
            .to_rgb8();
        assert_ne!(a, b);
        assert_eq!(
            default_profile_image("aaaa", "alice"),
            default_profile_image("aaaa", "alice")
        );
    }

    #[test]
    fn refuses_more_pixels_than_allowed() {
        assert!(make_previews(&png(100, 100), 9_999).is_err());
    }
}
