//! The event types SalesLoft sends (`x-salesloft-event`), and what each carries.

use salesloft_model::resource::event_types;
use salesloft_services::Stream;

/// An event type SalesLoft documents: one of the model's registry
/// ([`salesloft_model::resource::event_types`]: each resource's, then the ones no resource
/// keeps). Deliveries of a type not listed are stored and marked skipped, never refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType(&'static str);

impl EventType {
    /// Every documented event type, in registry order.
    pub fn all() -> impl Iterator<Item = EventType> {
        event_types().map(EventType)
    }

    /// The name SalesLoft uses (the header's value and a subscription's `event_type`).
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The event type named `name`, if SalesLoft documents it.
    pub fn parse(name: &str) -> Option<EventType> {
        event_types().find(|t| *t == name).map(EventType)
    }
}

/// What a delivery of some event type asks of the local copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The body is a record of `stream` in its new state: upsert it.
    Upsert(Stream),
    /// The body is a record of `stream` in its last state: mark it deleted.
    Delete(Stream),
    /// Nothing the toolkit keeps (a documented type without a synced stream, or an unknown
    /// one): stored and marked skipped.
    Skip,
}

impl Action {
    /// What a delivery of `event_type` (the header's value, documented or not) asks for. The
    /// mapping is the client's resource registry: every synced stream's events are there.
    pub fn of(event_type: &str) -> Action {
        match Stream::of_event(event_type) {
            Some((stream, false)) => Action::Upsert(stream),
            Some((stream, true)) => Action::Delete(stream),
            None => Action::Skip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in EventType::all() {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::all().count(), 38, "SalesLoft documents 38");
        assert_eq!(EventType::parse("person.updated"), None);
    }

    #[test]
    fn every_synced_stream_event_is_documented_and_the_required_ones_apply() {
        for stream in Stream::all() {
            let r = stream.resource();
            for e in r.changed_events.iter().chain(r.deleted_events) {
                assert!(EventType::parse(e).is_some(), "{e} is not documented");
            }
        }
        let names = |action: fn(Stream) -> Action, list: &[(&str, &str)]| {
            for (event, stream) in list {
                let stream = Stream::named(stream).unwrap_or_else(|| panic!("{stream}"));
                assert_eq!(Action::of(event), action(stream), "{event}");
            }
        };
        names(
            Action::Upsert,
            &[
                ("person_created", "people"),
                ("person_updated", "people"),
                ("account_updated", "accounts"),
                ("cadence_updated", "cadences"),
                ("cadence_membership_updated", "cadence_memberships"),
                ("step_updated", "steps"),
                ("note_updated", "notes"),
                ("user_updated", "users"),
                ("call_created", "calls"),
                ("email_updated", "emails"),
                ("success_created", "successes"),
                ("call_data_record_created", "call_data_records"),
                ("call_data_record_updated", "call_data_records"),
                ("task_created", "tasks"),
                ("task_updated", "tasks"),
                ("task_completed", "tasks"),
            ],
        );
        names(
            Action::Delete,
            &[
                ("person_deleted", "people"),
                ("account_deleted", "accounts"),
                ("cadence_deleted", "cadences"),
                ("step_deleted", "steps"),
                ("note_deleted", "notes"),
                ("task_deleted", "tasks"),
            ],
        );
        assert_eq!(Action::of("meeting_booked"), Action::Skip);
        assert_eq!(Action::of("brand_new_event"), Action::Skip);
    }
}
