//! Typed fields beyond plain strings (booleans, nullable strings, string lists) for the
//! session and admin bodies, with the same FastAPI-shaped 422s as [`Fields`].

use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::json::{Fields, JsonBody};

/// Reads the fields of a JSON object body, collecting every schema error at once.
pub(crate) struct Object {
    object: Map<String, Value>,
    errors: Vec<Value>,
}

impl Object {
    /// The body must be an object (`required`: a missing body is an error too). The shape
    /// check is [`Fields::of`]'s, so refusals match the other routes exactly.
    pub(crate) fn of(body: JsonBody, required: bool) -> Result<Object, ApiError> {
        let value = body.0.clone();
        Fields::of(body, required)?;
        let object = match value {
            Some(Value::Object(object)) => object,
            _ => Map::new(),
        };
        Ok(Object {
            object,
            errors: Vec::new(),
        })
    }

    fn error(&mut self, kind: &str, loc: Value, msg: &str, input: &Value) {
        self.errors
            .push(json!({"type": kind, "loc": loc, "msg": msg, "input": input}));
    }

    fn string_error(&mut self, name: &str, value: &Value) {
        self.error(
            "string_type",
            json!(["body", name]),
            "Input should be a valid string",
            value,
        );
    }

    /// A required string field.
    pub(crate) fn required(&mut self, name: &str) -> String {
        match self.object.get(name).cloned() {
            Some(Value::String(s)) => s,
            Some(other) => {
                self.string_error(name, &other);
                String::new()
            }
            None => {
                let input = Value::Object(self.object.clone());
                self.error("missing", json!(["body", name]), "Field required", &input);
                String::new()
            }
        }
    }

    /// An optional string field (absent or `null` → `None`).
    pub(crate) fn optional(&mut self, name: &str) -> Option<String> {
        self.nullable(name).flatten()
    }

    /// A string field where absence and `null` differ: absent → `None` (leave alone),
    /// `null` → `Some(None)` (clear), a string → `Some(Some(_))`.
    pub(crate) fn nullable(&mut self, name: &str) -> Option<Option<String>> {
        match self.object.get(name).cloned() {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s)),
            Some(other) => {
                self.string_error(name, &other);
                None
            }
        }
    }

    /// An optional boolean field (absent or `null` → `None`; only JSON booleans accepted).
    pub(crate) fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.object.get(name).cloned() {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(other) => {
                self.error(
                    "bool_type",
                    json!(["body", name]),
                    "Input should be a valid boolean",
                    &other,
                );
                None
            }
        }
    }

    /// An optional list of strings (absent or `null` → `None`).
    pub(crate) fn string_list(&mut self, name: &str) -> Option<Vec<String>> {
        match self.object.get(name).cloned() {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.error(
                            "string_type",
                            json!(["body", name, i]),
                            "Input should be a valid string",
                            other,
                        ),
                    }
                }
                Some(out)
            }
            Some(other) => {
                self.error(
                    "list_type",
                    json!(["body", name]),
                    "Input should be a valid list",
                    &other,
                );
                None
            }
        }
    }

    /// Ends reading.
    ///
    /// # Errors
    /// A 422 listing every schema error found.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}
