//! `/media/{file}?w=N`: pictures managers upload in the CMS, served by this site so public
//! pages never link to Directus (which need not run, and whose admin address stays private).
//!
//! The file's metadata comes from Directus's `directus.directus_files` (readable by the app's
//! role: `scripts/cms/grants.sql`), its bytes from the shared upload folder. Only raster
//! pictures are served (an uploaded SVG or HTML could carry script). A width from
//! [`WIDTHS`] gives a resized variant, made once and kept on disk; other widths are refused,
//! so a crawler cannot make the server resize a picture to every size.

use super::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::sync::LazyLock;

/// Widths a variant may have.
pub const WIDTHS: [u32; 3] = [320, 640, 1280];

/// Resizes at once (decoding a large photo takes a core for a fraction of a second).
static RESIZES: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| tokio::sync::Semaphore::new(2));

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        text,
    )
        .into_response()
}

fn image_response(bytes: Vec<u8>, mime: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(mime)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The picture types served.
fn raster(mime: &str) -> Option<image::ImageFormat> {
    match mime {
        "image/jpeg" => Some(image::ImageFormat::Jpeg),
        "image/png" => Some(image::ImageFormat::Png),
        "image/webp" => Some(image::ImageFormat::WebP),
        _ => None,
    }
}

/// A picture `width` wide at most (never enlarged): JPEG, or PNG when it has transparency.
fn resize(
    bytes: &[u8],
    format: image::ImageFormat,
    width: u32,
) -> anyhow::Result<(Vec<u8>, &'static str)> {
    let img = image::load_from_memory_with_format(bytes, format)?;
    let img = if img.width() > width {
        img.resize(width, u32::MAX, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let mut out = std::io::Cursor::new(Vec::new());
    // A canvas or screenshot export has an alpha channel that is opaque everywhere: JPEG.
    let transparent = img.color().has_alpha() && img.to_rgba8().pixels().any(|p| p.0[3] < 255);
    if transparent {
        img.write_to(&mut out, image::ImageFormat::Png)?;
        Ok((out.into_inner(), "image/png"))
    } else {
        let rgb = img.to_rgb8();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82).encode_image(&rgb)?;
        Ok((out.into_inner(), "image/jpeg"))
    }
}

pub(super) async fn media(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(content) = state.content.clone() else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let Ok(id) = uuid::Uuid::parse_str(&file) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let width = match query.as_deref().unwrap_or("") {
        "" => None,
        q => match q.strip_prefix("w=").and_then(|w| w.parse::<u32>().ok()) {
            Some(w) if WIDTHS.contains(&w) => Some(w),
            _ => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "width must be w=320, w=640 or w=1280",
                )
            }
        },
    };
    // Directus's table exists once Directus has been set up on this database.
    let row: Result<Option<(String, Option<String>)>, sqlx::Error> =
        sqlx::query_as("SELECT filename_disk, type FROM directus.directus_files WHERE id = $1")
            .bind(id)
            .fetch_optional(content.pool())
            .await;
    let (disk, mime) = match row {
        Ok(Some((disk, Some(mime)))) => (disk, mime),
        Ok(_) => return plain(StatusCode::NOT_FOUND, "not found"),
        Err(sqlx::Error::Database(e))
            if matches!(e.code().as_deref(), Some("42P01" | "3F000" | "42501")) =>
        {
            return plain(StatusCode::NOT_FOUND, "not found")
        }
        Err(e) => {
            tracing::error!(error = %e, "reading directus_files");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "error");
        }
    };
    let Some(format) = raster(&mime) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    if disk.is_empty() || disk.contains(['/', '\\']) || disk.starts_with('.') {
        return plain(StatusCode::NOT_FOUND, "not found");
    }
    let source: PathBuf = content.files_dir.join(&disk);
    let Some(width) = width else {
        return match tokio::fs::read(&source).await {
            Ok(bytes) => image_response(bytes, &mime),
            Err(_) => plain(StatusCode::NOT_FOUND, "not found"),
        };
    };
    let variants = content.variants_dir.clone();
    let Ok(_permit) = RESIZES.acquire().await else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "busy");
    };
    let made =
        tokio::task::spawn_blocking(move || -> anyhow::Result<Option<(Vec<u8>, &'static str)>> {
            let Ok(src_meta) = std::fs::metadata(&source) else {
                return Ok(None);
            };
            for (ext, mime) in [("jpg", "image/jpeg"), ("png", "image/png")] {
                let path = variants.join(format!("{id}-{width}.{ext}"));
                if let Ok(m) = std::fs::metadata(&path) {
                    // A file replaced in Directus keeps its id: a variant older than it is stale.
                    if m.modified()? >= src_meta.modified()? {
                        return Ok(Some((std::fs::read(&path)?, mime)));
                    }
                }
            }
            let bytes = std::fs::read(&source)?;
            let (out, mime) = resize(&bytes, format, width)?;
            std::fs::create_dir_all(&variants)?;
            let ext = if mime == "image/png" { "png" } else { "jpg" };
            let path = variants.join(format!("{id}-{width}.{ext}"));
            let tmp = variants.join(format!(".{id}-{width}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, &out)?;
            std::fs::rename(&tmp, &path)?;
            Ok(Some((out, mime)))
        })
        .await;
    match made {
        Ok(Ok(Some((bytes, mime)))) => image_response(bytes, mime),
        Ok(Ok(None)) => plain(StatusCode::NOT_FOUND, "not found"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, %id, "resizing an uploaded picture");
            plain(StatusCode::UNPROCESSABLE_ENTITY, "not a readable picture")
        }
        Err(e) => {
            tracing::error!(error = %e, "resize task");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_shrink_keep_proportions_and_never_enlarge() {
        let img =
            image::RgbImage::from_fn(2000, 1000, |x, _| image::Rgb([(x % 256) as u8, 10, 200]));
        let mut png = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let (out, mime) = resize(png.get_ref(), image::ImageFormat::Png, 640).unwrap();
        assert_eq!(mime, "image/jpeg");
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!((back.width(), back.height()), (640, 320));
        let (out, _) = resize(png.get_ref(), image::ImageFormat::Png, 4000).unwrap();
        assert_eq!(image::load_from_memory(&out).unwrap().width(), 2000);
        let rgba = image::RgbaImage::from_pixel(100, 50, image::Rgba([0, 0, 0, 0]));
        let mut png = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgba8(rgba)
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        assert_eq!(
            resize(png.get_ref(), image::ImageFormat::Png, 320)
                .unwrap()
                .1,
            "image/png"
        );
    }
}
