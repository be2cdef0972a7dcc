//! One handler per SalesLoft resource: `client.people()`, `client.cadences()`, ...

mod accounts;
mod activities;
mod cadences;
mod definitions;
mod engagement;
mod memberships;
mod notes;
mod people;
mod send;
mod tasks;
mod users;
mod webhooks;

pub use accounts::{AccountSort, AccountUpsertKey, Accounts};
pub use activities::{CallSort, Calls, EmailSort, Emails};
pub use cadences::{CadenceSort, Cadences, StepSort, Steps};
pub use definitions::{
    AccountStageSort, AccountStages, AccountTierSort, AccountTiers, CallDispositionSort,
    CallDispositions, CallSentimentSort, CallSentiments, CustomFieldSort, CustomFields,
    PersonStageSort, PersonStages,
};
pub use engagement::{
    ActionSort, Actions, ActivityHistories, ActivityHistorySort, CallDataRecordSort,
    CallDataRecords, CrmActivities, CrmActivityFieldSort, CrmActivityFields, CrmActivitySort,
    CrmUserSort, CrmUsers, EmailTemplateSort, EmailTemplates, ImportSort, Imports, SuccessSort,
    Successes,
};
pub use memberships::{CadenceMemberships, MembershipSort};
pub use notes::{NoteSort, Notes};
pub use people::{People, PersonSort, PersonUpsertKey};
pub use tasks::{TaskSort, Tasks};
pub use users::{UserSort, Users};
pub use webhooks::WebhookSubscriptions;

use crate::client::Client;
use crate::error::Result;
use crate::list::{ListRequest, ListResource};
use crate::models::{Team, User};

impl Client {
    /// The authenticated user (`GET /v2/me`).
    pub async fn me(&self) -> Result<User> {
        self.get_one("/v2/me".into(), "me.get").await
    }

    /// The authenticated user's team (`GET /v2/team`).
    pub async fn team(&self) -> Result<Team> {
        self.get_one("/v2/team".into(), "team.get").await
    }

    /// A list request for any resource, by its list type: `client.list::<People>()` is
    /// `client.people().list()`. For code generic over resources.
    pub fn list<R: ListResource>(&self) -> ListRequest<R> {
        ListRequest::new(self.clone())
    }

    /// People (prospects).
    pub fn people(&self) -> People {
        People::new(self.clone())
    }

    /// Accounts (companies).
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.clone())
    }

    /// Users of the team.
    pub fn users(&self) -> Users {
        Users::new(self.clone())
    }

    /// Cadences.
    pub fn cadences(&self) -> Cadences {
        Cadences::new(self.clone())
    }

    /// Cadence steps.
    pub fn steps(&self) -> Steps {
        Steps::new(self.clone())
    }

    /// Cadence memberships: enrolling people in cadences and removing them.
    pub fn cadence_memberships(&self) -> CadenceMemberships {
        CadenceMemberships::new(self.clone())
    }

    /// E-mail activities.
    pub fn emails(&self) -> Emails {
        Emails::new(self.clone())
    }

    /// Call activities.
    pub fn calls(&self) -> Calls {
        Calls::new(self.clone())
    }

    /// Notes on people and accounts.
    pub fn notes(&self) -> Notes {
        Notes::new(self.clone())
    }

    /// Webhook subscriptions.
    pub fn webhook_subscriptions(&self) -> WebhookSubscriptions {
        WebhookSubscriptions::new(self.clone())
    }
}
