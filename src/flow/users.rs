//! The agent as a UserId: a GUID as given, or an e-mail looked up (cached
//! for `user_cache_ttl_ms`, one request for concurrent callers).

use std::time::Instant;

use crate::api::user_by_email;
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::lookup::single_flight::Outcome as Flight;
use crate::lookup::UserLookup;
use crate::request::attempt;
use crate::sched::job::Class;

/// The UserId for `user` (a GUID, or an e-mail address as validated by
/// `fields::user`), not sending anything after `deadline`.
pub(crate) fn resolve_user(
    shared: &Context,
    user: &str,
    class: Class,
    deadline: Instant,
) -> UserLookup {
    if !user.contains('@') {
        return UserLookup {
            outcome: Ok(user.to_string()),
            http_status: 0,
        };
    }
    // E-mail addresses are matched without regard to case (inferred: as
    // LeadSquared's user lookup does), so one cache entry serves both spellings.
    let key = user.to_ascii_lowercase();
    if let Some(user_id) = shared.directory.cached_user(&key, Instant::now()) {
        return UserLookup {
            outcome: Ok(user_id),
            http_status: 0,
        };
    }
    let run = || {
        let what = format_args!("user lookup of {user}");
        let query = [("emailAddress", user)];
        let asked = attempt(
            shared,
            class,
            &what,
            &user_by_email::request(&query),
            user_by_email::parse,
            shared.settings.max_retries,
            deadline,
        );
        shared.lookups.requests(asked.attempts);
        let outcome = match asked.outcome {
            Ok(Some(user_id)) => {
                shared
                    .directory
                    .remember_user(&key, user_id.clone(), Instant::now());
                Ok(user_id)
            }
            Ok(None) => Err(Error::new(
                ErrorKind::NoMatch,
                format!("no active LeadSquared user has the e-mail address {user}"),
            )),
            Err(e) => Err(e),
        };
        UserLookup {
            outcome,
            http_status: asked.http_status,
        }
    };
    match shared.directory.user_flights.run(&key, deadline, run) {
        Flight::Led(found) | Flight::Joined(found) => found,
        Flight::Gone => UserLookup {
            outcome: Err(Error::new(
                ErrorKind::Expired,
                format!("the lookup of user {user} did not end within max_age_ms"),
            )),
            http_status: 0,
        },
    }
}
