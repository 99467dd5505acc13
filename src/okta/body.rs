//! Answers read as streams under a cap: whatever a server sends (a gzip bomb, an endless body), the
//! client holds at most the cap, measured after decompression, and fails naming the endpoint.

use bytes::{Bytes, BytesMut};

use super::error::OktaError;

/// Largest page accepted: a System Log page of 1,000 events is about 2.5 MB; 8 MiB leaves room.
pub(crate) const PAGE_LIMIT: usize = 8 * 1024 * 1024;
/// Largest error body accepted: Okta's error bodies are a few hundred bytes.
pub(crate) const ERROR_LIMIT: usize = 64 * 1024;

/// Reads the whole (decompressed) body, failing as soon as it passes `limit` bytes.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
    endpoint: &str,
) -> Result<Bytes, OktaError> {
    let too_large = || OktaError::TooLarge { endpoint: endpoint.to_string(), limit };
    // Content-Length describes the encoded body; a compressed body is checked as it inflates below.
    let declared = response.content_length().unwrap_or(0);
    if declared > limit as u64 && response.headers().get("content-encoding").is_none() {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity((declared as usize).min(limit).min(1 << 20));
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(e) => {
                return Err(OktaError::Transport {
                    endpoint: endpoint.to_string(),
                    message: super::transport::describe_transport(&e),
                });
            }
        }
    }
}
