//! JSON request bodies, as the reference accepts them.
//!
//! Only `application/json` and `application/*+json` bodies are parsed; anything else (a
//! cross-site HTML form, say) is a 422, which is also what keeps cookie mode safe from
//! form-post CSRF. Schema errors are FastAPI-shaped 422s (`missing`, `string_type`,
//! `json_invalid`, `model_attributes_type`); bodies over the limit are 413. Unknown fields
//! are ignored. No input here can produce a 5xx.

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use authfort_core::AuthFort;

/// A parsed JSON body: `None` when the request had no body at all.
#[derive(Debug)]
pub struct JsonBody(pub Option<Value>);

fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S> FromRequest<S> for JsonBody
where
    AuthFort: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = AuthFort::from_ref(state).config().max_body_bytes;
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ApiError::payload_too_large())?;
        if bytes.is_empty() {
            return Ok(JsonBody(None));
        }
        if !is_json(content_type.as_deref()) {
            let input = String::from_utf8_lossy(&bytes).into_owned();
            return Err(ApiError::validation(vec![json!({
                "type": "model_attributes_type",
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": input,
            })]));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => Ok(JsonBody(Some(v))),
            Err(e) => Err(ApiError::validation(vec![json!({
                "type": "json_invalid",
                "loc": ["body", e.column()],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": e.to_string()},
            })])),
        }
    }
}

/// Reads typed fields out of a JSON object, collecting every schema error at once.
pub struct Fields {
    object: Map<String, Value>,
    errors: Vec<Value>,
}

impl Fields {
    /// The body must be an object (`required`: a missing body is an error too).
    ///
    /// # Errors
    /// A 422 when the body is missing (and required) or not an object.
    pub fn of(body: JsonBody, required: bool) -> Result<Fields, ApiError> {
        match body.0 {
            Some(Value::Object(object)) => Ok(Fields {
                object,
                errors: Vec::new(),
            }),
            None if !required => Ok(Fields {
                object: Map::new(),
                errors: Vec::new(),
            }),
            None => Err(ApiError::validation(vec![json!({
                "type": "missing", "loc": ["body"], "msg": "Field required", "input": null
            })])),
            Some(other) => Err(ApiError::validation(vec![json!({
                "type": "model_attributes_type",
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": other,
            })])),
        }
    }

    fn type_error(&mut self, name: &str, value: &Value) {
        self.errors.push(json!({
            "type": "string_type", "loc": ["body", name], "msg": "Input should be a valid string", "input": value
        }));
    }

    /// A required string field.
    pub fn required(&mut self, name: &str) -> String {
        match self.object.get(name).cloned() {
            Some(Value::String(s)) => s,
            Some(other) => {
                self.type_error(name, &other);
                String::new()
            }
            None => {
                let input = Value::Object(self.object.clone());
                self.errors.push(json!({
                    "type": "missing", "loc": ["body", name], "msg": "Field required", "input": input
                }));
                String::new()
            }
        }
    }

    /// An optional string field (absent or `null` → `None`).
    pub fn optional(&mut self, name: &str) -> Option<String> {
        match self.object.get(name).cloned() {
            Some(Value::String(s)) => Some(s),
            None | Some(Value::Null) => None,
            Some(other) => {
                self.type_error(name, &other);
                None
            }
        }
    }

    /// Ends reading.
    ///
    /// # Errors
    /// A 422 listing every schema error found.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn only_json_media_types_are_accepted() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(is_json(Some("application/merge-patch+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(Some("application/x-www-form-urlencoded")));
        assert!(!is_json(Some("multipart/form-data; boundary=x")));
        assert!(!is_json(None));
    }
}
