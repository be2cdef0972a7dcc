use super::send::{handler, put_json};
use crate::UserId;
use crate::error::Result;
use crate::list::{ListRequest, ListResource, sort_fields};
use crate::models::User;
use crate::resource::{self, Resource};

handler! {
    /// `/v2/users`: the team's users.
    ///
    /// SalesLoft pages this list only when `page` is given: [`ListRequest::send`] without
    /// [`ListRequest::page`] returns every user in one answer with no paging metadata, while
    /// [`ListRequest::pages`] and [`ListRequest::stream`] always send `page`.
    Users
}

sort_fields! {
    /// Fields users can be sorted by (default `id`).
    UserSort {
        /// `id`
        Id => "id",
        /// `email`
        Email => "email",
        /// `name`
        Name => "name",
        /// `group`
        Group => "group",
        /// `role`
        Role => "role",
    }
}

impl ListResource for Users {
    const RESOURCE: &'static Resource = &resource::USERS;
    type Item = User;
    type Id = UserId;
    type Sort = UserSort;
}

impl Users {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<Users> {
        ListRequest::new(self.client.clone())
    }

    /// One user.
    pub async fn get(&self, id: UserId) -> Result<User> {
        self.client
            .get_one(format!("/v2/users/{id}"), "users.get")
            .await
    }

    /// Activate or deactivate a user (`PUT /v2/users/{id}` with `{"active": ...}`).
    pub async fn set_active(&self, id: UserId, active: bool) -> Result<User> {
        put_json(
            &self.client,
            format!("/v2/users/{id}"),
            "users.update",
            &serde_json::json!({ "active": active }),
        )
        .await
    }
}

impl ListRequest<Users> {
    /// Users with any of these guids (`guid[]`).
    pub fn guids<S: ToString>(self, guids: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("guid", guids)
    }

    /// Users in any of these groups (`group_id[]`).
    pub fn group_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("group_id", ids)
    }

    /// Users with any of these roles (`role_id[]`).
    pub fn role_ids<S: ToString>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("role_id", ids)
    }

    /// Users matching a name or e-mail search.
    pub fn search(self, text: impl ToString) -> Self {
        self.filter("search", text)
    }

    /// Active (or inactive) users only.
    pub fn active(self, value: bool) -> Self {
        self.filter("active", value)
    }

    /// Include users hidden from the current user (`visible_only=false`).
    pub fn visible_only(self, value: bool) -> Self {
        self.filter("visible_only", value)
    }
}
