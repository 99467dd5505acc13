//! The hostile answers of `--fault`: what a broken server, a proxy or an attacker on an allowed domain
//! could send. Each one is something a client must survive with bounded memory and exact numbers.

use std::io::Write;
use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// 1 GiB of zeros, gzip-compressed (about 1 MiB), made once.
fn bomb() -> &'static Bytes {
    static BOMB: OnceLock<Bytes> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            if gz.write_all(&zeros).is_err() {
                break;
            }
        }
        Bytes::from(gz.finish().unwrap_or_default())
    })
}

/// A success answer whose gzip body inflates to 1 GiB.
pub fn gzip_bomb() -> Response {
    let mut r = Response::new(Body::from(bomb().clone()));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    r
}

/// A success answer of 300 MiB that looks like a JSON array, streamed without a Content-Length.
pub fn huge_body() -> Response {
    let chunk = Bytes::from(format!("{},", r#"{"id":"0oa00000000000000000","label":"padding"}"#.repeat(20_000)));
    let chunks = (0..(300 * 1024 * 1024) / chunk.len())
        .map(move |i| Ok::<Bytes, std::io::Error>(if i == 0 { Bytes::from_static(b"[") } else { chunk.clone() }));
    let mut r = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// An Okta-shaped error whose errorSummary is 2 MiB of terminal escapes and text.
pub fn huge_error() -> Response {
    let summary = "\u{1b}[2J\u{1b}]0;pwned\u{7}Api validation failed ".repeat(2 * 1024 * 1024 / 40);
    let body = serde_json::json!({"errorCode": "E0000001", "errorSummary": summary, "errorLink": "E0000001", "errorId": "oae", "errorCauses": []});
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A 400 whose errorSummary is long (about 3 KiB) and not ASCII: notes and messages must be cut on a
/// character boundary within the API's byte limits.
pub fn long_error() -> Response {
    let summary = "Überprüfung fehlgeschlagen – paramètre invalide ✗ ".repeat(60);
    let body = serde_json::json!({"errorCode": "E0000001", "errorSummary": summary, "errorLink": "E0000001", "errorId": "oae", "errorCauses": []});
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// What a proxy or load balancer answers: a status and an HTML page, no Okta errorCode.
pub fn plain(status: StatusCode) -> Response {
    let mut r = Response::new(Body::from(format!(
        "<html><body><h1>{status}</h1>Access denied by the corporate proxy</body></html>"
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

/// App labels carrying terminal escapes and spreadsheet formulas.
pub fn control_chars(body: &mut Value) {
    if let Some(items) = body.as_array_mut() {
        for (i, item) in items.iter_mut().enumerate() {
            if let Some(label) = item.get("label").and_then(Value::as_str).map(String::from) {
                let poisoned = match i % 3 {
                    0 => format!("=HYPERLINK(\"http://evil.example\",\"{label}\")"),
                    1 => format!("\u{1b}]0;pwned\u{7}\u{1b}[31m{label}\u{1b}[0m\u{202e}"),
                    _ => format!("{label}\r\nInjected: header"),
                };
                item["label"] = Value::from(poisoned);
            }
        }
    }
}

/// Nulls where strings belong: the first record of a page loses a field a client may rely on (an app's
/// label, a user's status, an app user's status, an event's `published`).
pub fn nulls(body: &mut Value) {
    let Some(first) = body.as_array_mut().and_then(|a| a.first_mut()) else {
        return;
    };
    if first.get("eventType").is_some() {
        if let Some(o) = first.as_object_mut() {
            o.remove("published");
        }
    } else if first.get("label").is_some() {
        first["label"] = Value::Null;
    } else if first.get("scope").is_some() || first.get("profile").is_some() {
        first["status"] = Value::Null; // an app user or a user without a status
    }
}
