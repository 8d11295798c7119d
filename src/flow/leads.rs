//! Finding the lead for a number: from the cache, else one request shared by
//! every concurrent caller for that number, else (with
//! `unknown_caller=create`) a lead created for it.

use std::time::Instant;

use crate::api::lead_by_phone::{self, Lead};
use crate::api::lead_create::{self, DUPLICATE_EXCEPTION};
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::log::Level;
use crate::lookup::single_flight::Outcome as Flight;
use crate::lookup::{no_lead, CachedLead, Found, LeadLookup};
use crate::options::UnknownCaller;
use crate::phone::{lead_phone, Normalised};
use crate::request::{attempt, Attempted};
use crate::sched::job::Class;

/// Finds the lead for `number`, not sending anything after `deadline`.
pub(crate) fn find_lead(
    shared: &Context,
    number: &Normalised,
    class: Class,
    deadline: Instant,
) -> LeadLookup {
    let found = find(shared, number, class, deadline);
    shared
        .lookups
        .finished(found.outcome.as_ref().err().map(Error::kind));
    found
}

fn find(shared: &Context, number: &Normalised, class: Class, deadline: Instant) -> LeadLookup {
    let digits = number.digits();
    let directory = &shared.directory;
    if let Some(entry) = directory.cached_lead(digits, Instant::now()) {
        shared.lookups.cache_hit();
        return LeadLookup::from_cache(entry, digits);
    }
    match directory.lead_flights.run(digits, deadline, || {
        look_up(shared, number, class, deadline)
    }) {
        Flight::Led(found) => found,
        Flight::Joined(mut found) => {
            shared.lookups.shared_flight();
            // The leader's request created it, not this one's.
            if let Ok(found) = &mut found.outcome {
                found.created = false;
            }
            found
        }
        Flight::Gone => LeadLookup {
            outcome: Err(Error::new(
                ErrorKind::Expired,
                format!(
                    "the lookup of {digits} shared with another call did not end within max_age_ms"
                ),
            )),
            http_status: 0,
            attempts: 0,
            cached: false,
        },
    }
}

/// The lookup itself (the flight's leader): the request, then a create if
/// asked for, and the cache updated with what is worth keeping.
fn look_up(shared: &Context, number: &Normalised, class: Class, deadline: Instant) -> LeadLookup {
    let digits = number.digits();
    let asked = request_lead(shared, digits, "lookup", class, deadline);
    let (found, http_status, mut attempts) = (asked.outcome, asked.http_status, asked.attempts);
    let outcome = match found {
        Ok(Some(lead)) => Ok(Found {
            lead,
            created: false,
        }),
        Ok(None) if shared.settings.unknown_caller == UnknownCaller::Create => {
            let created = create(shared, number, class, deadline);
            attempts = attempts.saturating_add(created.attempts);
            let http_status = if created.attempts > 0 {
                created.http_status
            } else {
                http_status
            };
            return finish(shared, digits, created.outcome, http_status, attempts);
        }
        Ok(None) => Err(no_lead(digits)),
        Err(e) => Err(e),
    };
    finish(shared, digits, outcome, http_status, attempts)
}

/// One RetrieveLeadByPhoneNumber request for `digits` (with its retries),
/// counted; `what` names it in log lines.
fn request_lead(
    shared: &Context,
    digits: &str,
    what: &str,
    class: Class,
    deadline: Instant,
) -> Attempted<Option<Lead>> {
    let label = format_args!("{what} of {digits}");
    let query = [("phone", digits)];
    let asked = attempt(
        shared,
        class,
        &label,
        &lead_by_phone::request(&query),
        lead_by_phone::parse,
        shared.settings.max_retries,
        deadline,
    );
    shared.lookups.requests(asked.attempts);
    asked
}

/// Caches what is worth keeping (a lead, or "no lead"; never a failure)
/// and counts the outcome.
fn finish(
    shared: &Context,
    digits: &str,
    outcome: Result<Found, Error>,
    http_status: u16,
    attempts: u16,
) -> LeadLookup {
    let now = Instant::now();
    match &outcome {
        Ok(found) => shared
            .directory
            .remember_lead(digits, CachedLead::Found(found.clone()), now),
        Err(e) if e.kind() == ErrorKind::NoMatch && e.message() == no_lead(digits).message() => {
            shared
                .directory
                .remember_lead(digits, CachedLead::Missing, now)
        }
        Err(_) => {}
    }
    LeadLookup {
        outcome,
        http_status,
        attempts,
        cached: false,
    }
}

/// Creates a lead for an unknown caller; on "already exists" (another PBX
/// was faster) looks it up once more.
fn create(
    shared: &Context,
    number: &Normalised,
    class: Class,
    deadline: Instant,
) -> Attempted<Found> {
    let digits = number.digits();
    let phone = match lead_phone(number) {
        Ok(phone) => phone,
        Err(why) => {
            return Attempted {
                outcome: Err(Error::new(
                    ErrorKind::NoMatch,
                    format!("no lead has the number {digits}, and none was created: {why}"),
                )),
                http_status: 0,
                attempts: 0,
                exception: None,
            }
        }
    };
    let body = lead_create::body(&phone, &shared.settings.lead_source);
    let what = format_args!("creating a lead for {phone}");
    let created = attempt(
        shared,
        class,
        &what,
        &lead_create::request(&body),
        lead_create::parse,
        shared.settings.max_retries,
        deadline,
    );
    shared.lookups.requests(created.attempts);
    match created.outcome {
        Ok(lead_id) => {
            shared.lookups.lead_created();
            shared.logger.log(Level::Info, || {
                format!("created lead {lead_id} for unknown caller {phone}")
            });
            Attempted {
                outcome: Ok(Found {
                    lead: Lead {
                        lead_id,
                        phone,
                        ..Lead::default()
                    },
                    created: true,
                }),
                http_status: created.http_status,
                attempts: created.attempts,
                exception: None,
            }
        }
        Err(_) if created.exception.as_deref() == Some(DUPLICATE_EXCEPTION) => {
            // Inferred: LeadSquared refuses a duplicate with this exception;
            // another PBX created the lead between our lookup and create.
            shared.logger.log(Level::Info, || {
                format!("a lead for {phone} was created elsewhere meanwhile: looking it up again")
            });
            let again = request_lead(
                shared,
                digits,
                "lookup after a duplicate create",
                class,
                deadline,
            );
            Attempted {
                outcome: match again.outcome {
                    Ok(Some(lead)) => Ok(Found {
                        lead,
                        created: false,
                    }),
                    Ok(None) => Err(no_lead(digits)),
                    Err(e) => Err(e),
                },
                http_status: again.http_status,
                attempts: created.attempts.saturating_add(again.attempts),
                exception: None,
            }
        }
        Err(e) => Attempted {
            outcome: Err(e),
            http_status: created.http_status,
            attempts: created.attempts,
            exception: created.exception,
        },
    }
}
