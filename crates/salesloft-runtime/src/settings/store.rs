//! How our binaries open the store.

use crate::Settings;

impl Settings {
    /// The pool settings our binaries open the store with (Nagle off on PostgreSQL).
    pub fn store_options(&self) -> salesloft_storage::StoreOptions {
        salesloft_storage::StoreOptions {
            tcp_nodelay: true,
            ..salesloft_storage::StoreOptions::default()
        }
    }
}
