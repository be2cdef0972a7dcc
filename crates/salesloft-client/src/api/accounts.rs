use super::send::{handler, post_json, put_json, upsert};
use crate::error::Result;
use crate::list::{FilterCreatedAt, ListRequest, ListResource, sort_fields};
use crate::models::{Account, AccountInput, Upserted};
use crate::resource::{self, Resource};
use crate::{AccountId, UserId};

handler! {
    /// `/v2/accounts`: list, get, create, update, delete and upsert accounts.
    Accounts
}

sort_fields! {
    /// Fields accounts can be sorted by (default `updated_at`).
    AccountSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `last_contacted_at`
        LastContactedAt => "last_contacted_at",
        /// `name`
        Name => "name",
        /// `account_stage`
        AccountStage => "account_stage",
        /// `account_tier`
        AccountTier => "account_tier",
        /// `counts_people`
        CountsPeople => "counts_people",
    }
}

impl ListResource for Accounts {
    const RESOURCE: &'static Resource = &resource::ACCOUNTS;
    type Item = Account;
    type Id = AccountId;
    type Sort = AccountSort;
}
impl FilterCreatedAt for Accounts {}

/// What an account upsert matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountUpsertKey {
    /// The domain.
    Domain,
    /// The SalesLoft id (put it in `extra["id"]`).
    Id,
    /// The CRM id.
    CrmId,
}

impl AccountUpsertKey {
    fn as_str(self) -> &'static str {
        match self {
            AccountUpsertKey::Domain => "domain",
            AccountUpsertKey::Id => "id",
            AccountUpsertKey::CrmId => "crm_id",
        }
    }
}

impl Accounts {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<Accounts> {
        ListRequest::new(self.client.clone())
    }

    /// One account.
    pub async fn get(&self, id: AccountId) -> Result<Account> {
        self.client
            .get_one(format!("/v2/accounts/{id}"), "accounts.get")
            .await
    }

    /// Create an account (`name` and a team-unique `domain` are required). Not retried once
    /// the server may have acted.
    pub async fn create(&self, input: &AccountInput) -> Result<Account> {
        post_json(&self.client, "/v2/accounts", "accounts.create", input).await
    }

    /// Change an account's fields.
    pub async fn update(&self, id: AccountId, input: &AccountInput) -> Result<Account> {
        put_json(
            &self.client,
            format!("/v2/accounts/{id}"),
            "accounts.update",
            input,
        )
        .await
    }

    /// Delete an account (its people are unlinked, not deleted). Idempotent.
    pub async fn delete(&self, id: AccountId) -> Result<()> {
        self.client
            .delete(format!("/v2/accounts/{id}"), "accounts.delete")
            .await
    }

    /// Create or update the account matching `key` (`POST /v2/account_upserts`).
    pub async fn upsert(
        &self,
        key: AccountUpsertKey,
        input: &AccountInput,
    ) -> Result<Upserted<Account>> {
        let mut body = serde_json::to_value(input)
            .map_err(|e| crate::Error::InvalidArgument(format!("account: {e}")))?;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("upsert_key".into(), key.as_str().into());
        }
        upsert(
            &self.client,
            "/v2/account_upserts",
            "account_upserts.create",
            "account",
            &body,
        )
        .await
    }
}

impl ListRequest<Accounts> {
    /// Accounts with any of these domains (`domain[]`).
    pub fn domains<S: ToString>(self, domains: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("domain", domains)
    }

    /// Accounts owned by any of these users (`owner_id[]`).
    pub fn owner_ids(self, ids: impl IntoIterator<Item = UserId>) -> Self {
        self.filter_array("owner_id", ids)
    }

    /// Accounts with any of these CRM ids (`crm_id[]`).
    pub fn crm_ids<S: ToString>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("crm_id", ids)
    }

    /// Archived (or unarchived) accounts only.
    pub fn archived(self, value: bool) -> Self {
        self.filter("archived", value)
    }
}
