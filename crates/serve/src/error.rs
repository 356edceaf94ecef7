//! The server's answers to bad requests: each kind of problem one variant, whose HTTP status
//! and MLflow error code follow from the variant alone.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A request the server refuses, answered with MLflow's error body
/// `{"error_code": …, "message": …}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A body that cannot be read or parsed into a table of numbers: malformed JSON, rows of
    /// the wrong length, a cell that is not a number (MLflow's `BAD_REQUEST`, as its answers
    /// to the same requests).
    #[error("{0}")]
    BadRequest(String),
    /// A table that does not fit the model: a missing, unknown or repeated column, a derived
    /// value that is not usable (MLflow's `INVALID_PARAMETER_VALUE`, the code of its schema
    /// enforcement).
    #[error("{0}")]
    InvalidParameter(String),
    /// No route here.
    #[error("no such endpoint")]
    NotFound,
    /// A route that does not take this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// A body over the limit.
    #[error("request body over the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A body that did not arrive in time.
    #[error("the request body did not arrive within {seconds:.1} s")]
    Timeout {
        /// The time allowed.
        seconds: f64,
    },
    /// A body that is neither JSON nor CSV.
    #[error("content type {0:?} is not supported: use application/json or text/csv")]
    UnsupportedMediaType(String),
    /// `GET /drift` with no figures to give: a model without training distributions, or no
    /// rows in the window yet.
    #[error("{0}")]
    NoDrift(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NoDrift(_) => StatusCode::CONFLICT,
        }
    }

    /// MLflow's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::InvalidParameter(_) => "INVALID_PARAMETER_VALUE",
            Self::NotFound => "ENDPOINT_NOT_FOUND",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::TooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::Timeout { .. } => "REQUEST_TIMEOUT",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::NoDrift(_) => "INVALID_STATE",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error_code": self.code(), "message": self.to_string() });
        (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status and MLflow's code follow from the variant, whatever the message says.
    #[test]
    fn the_variant_decides_status_and_code() {
        let same_words = String::from("schema: column a appears twice");
        let bad = ApiError::BadRequest(same_words.clone());
        let invalid = ApiError::InvalidParameter(same_words);
        assert_eq!(
            (bad.status(), bad.code()),
            (StatusCode::BAD_REQUEST, "BAD_REQUEST")
        );
        assert_eq!(
            (invalid.status(), invalid.code()),
            (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE")
        );
        assert_eq!(ApiError::NotFound.status(), StatusCode::NOT_FOUND);
        let large = ApiError::TooLarge { limit: 10 };
        assert_eq!(large.code(), "PAYLOAD_TOO_LARGE");
        assert_eq!(large.to_string(), "request body over the limit of 10 bytes");
    }
}
