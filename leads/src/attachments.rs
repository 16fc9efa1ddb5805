//! Lead attachments: photos of nameplates, PDF invoices. The type is judged by the bytes, not
//! by the name or the declared content type; files are stored once by sha256 under
//! `DATA_DIR/attachments/ab/abcdef…`, metadata in `lead_attachments`.

use crate::{invalid, Error, LeadId, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::path::{Path, PathBuf};

/// Default size limit of one file.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most attachments per lead.
pub const MAX_PER_LEAD: i64 = 20;

/// The accepted types, recognised by their first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// Stored attachment metadata.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub lead_id: LeadId,
    pub sha256: String,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
}

/// Where a file with this hash lives.
pub fn path_for(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir.join("attachments").join(&sha256[..2]).join(sha256)
}

fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        "file".to_string()
    } else {
        cleaned
    }
}

/// A file checked and written to the content-addressed store.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub sha256: String,
    pub file_name: String,
    pub mime_type: &'static str,
}

/// Checks a file (size, accepted type judged by content) and writes it under its hash,
/// atomically by rename; a file already stored is not written again.
pub async fn put_file(
    data_dir: &Path,
    file_name: &str,
    bytes: &[u8],
    max_bytes: usize,
) -> Result<StoredFile> {
    if bytes.len() > max_bytes {
        return Err(Error::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(invalid("file", "файл пустой"));
    }
    let mime = sniff(bytes).ok_or(Error::UnsupportedType)?;
    let sha = hex::encode(Sha256::digest(bytes));
    let path = path_for(data_dir, &sha);
    if !path.exists() {
        let dir = path.parent().expect("hash path has a parent");
        tokio::fs::create_dir_all(dir).await?;
        // Unique per write: two identical uploads at once must not share a temp file.
        let tmp = dir.join(format!(
            ".{sha}.{}.{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
    }
    Ok(StoredFile {
        sha256: sha,
        file_name: clean_name(file_name),
        mime_type: mime,
    })
}

/// Whether `token` opens uploads to `lead_id`: the lead exists, the token is its upload token
/// (compared in constant time) and uploads are still open. One answer for every refusal, so
/// a guess tells nothing about which leads exist.
pub async fn may_upload(pool: &PgPool, lead_id: LeadId, token: &str) -> Result<()> {
    let row: Option<(Option<String>, bool)> = sqlx::query_as(
        "SELECT upload_token, coalesce(uploads_open_until > now(), false) FROM leads WHERE id = $1",
    )
    .bind(lead_id)
    .fetch_optional(pool)
    .await?;
    let ok = match row {
        Some((Some(expected), open)) => {
            use subtle::ConstantTimeEq;
            open && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Forbidden("нет доступа к файлам этой заявки".into()))
    }
}

/// Checks and stores one file for a lead. The file is written before its row is inserted,
/// so a row never points at a missing file; the lead's row is locked meanwhile, so two
/// uploads at once cannot both pass the per-lead cap.
pub async fn store(
    pool: &PgPool,
    data_dir: &Path,
    lead_id: LeadId,
    file_name: &str,
    bytes: &[u8],
    max_bytes: usize,
    limits: &crate::limits::Limits,
) -> Result<Attachment> {
    if bytes.len() > max_bytes {
        return Err(Error::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let mut tx = pool.begin().await?;
    let exists: Option<i64> = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM lead_attachments WHERE lead_id = $1) FROM leads WHERE id = $1 FOR UPDATE",
    )
    .bind(lead_id)
    .fetch_optional(&mut *tx)
    .await?;
    match exists {
        None => return Err(Error::NotFound(format!("заявка {lead_id}"))),
        Some(n) if n >= MAX_PER_LEAD => {
            return Err(invalid(
                "file",
                format!("не больше {MAX_PER_LEAD} файлов к заявке"),
            ))
        }
        Some(_) => {}
    }
    crate::limits::check_bytes(&mut tx, lead_id, bytes.len() as i64, limits).await?;
    let file = put_file(data_dir, file_name, bytes, max_bytes).await?;
    let row: (i64,) = sqlx::query_as(
        "INSERT INTO lead_attachments (lead_id, sha256, file_name, mime_type, size_bytes)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (lead_id, sha256) DO UPDATE SET file_name = lead_attachments.file_name
         RETURNING id",
    )
    .bind(lead_id)
    .bind(&file.sha256)
    .bind(&file.file_name)
    .bind(file.mime_type)
    .bind(bytes.len() as i64)
    .fetch_one(&mut *tx)
    .await?;
    // A lead already delivered goes back to the outbox for a follow-up note with this file.
    sqlx::query(
        "UPDATE leads SET sync_state = 'lead_created', next_attempt_at = now()
         WHERE id = $1 AND sync_state = 'synced'",
    )
    .bind(lead_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Attachment {
        id: row.0,
        lead_id,
        sha256: file.sha256,
        file_name: file.file_name,
        mime_type: file.mime_type.to_string(),
        size_bytes: bytes.len() as i64,
    })
}

/// Signature of a link to an attachment (`?sig=`), so a manager can open it from the CRM
/// note without an account here.
pub fn link_signature(key: &str, lead_id: LeadId, sha256: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("{lead_id}/{sha256}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A lead's attachments, oldest first.
pub async fn list(pool: &PgPool, lead_id: LeadId) -> Result<Vec<Attachment>> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, sha256, file_name, mime_type, size_bytes FROM lead_attachments
         WHERE lead_id = $1 ORDER BY id",
    )
    .bind(lead_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, sha256, file_name, mime_type, size_bytes)| Attachment {
                id,
                lead_id,
                sha256,
                file_name,
                mime_type,
                size_bytes,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_judged_by_content() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"MZ\x90\0 an exe called invoice.pdf"), None);
        assert_eq!(sniff(b"<html>"), None);
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\scan\\счёт.pdf"), "счёт.pdf");
        assert_eq!(clean_name("a\u{0}b\n.pdf"), "ab.pdf");
        assert_eq!(clean_name(""), "file");
    }
}
