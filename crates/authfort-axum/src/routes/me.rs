//! `GET /auth/me`.

use authfort_core::UserResponse;
use axum::Json;

use crate::extract::CurrentUser;

pub(crate) async fn me(CurrentUser(me): CurrentUser) -> Json<UserResponse> {
    Json(me.response())
}
