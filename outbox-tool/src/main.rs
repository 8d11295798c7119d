//! `lsq-outbox`: an admin's view of a liblsq call-log outbox.
//!
//! Call logs that LeadSquared has not taken yet wait in the outbox; those it
//! refused for good (or that got too old) are kept there as dead. This tool
//! shows what waits and why, puts dead logs back in the queue once the cause
//! is fixed, and removes them. It works while a client has the outbox open:
//! it opens the file without the client's lock, and SQLite (WAL mode)
//! keeps the two consistent; a running client picks retried logs up at its
//! next pass. It never creates a file, so a mistyped path is an error. It
//! reads payloads by the client's rule (`lsq::outbox::unreadable`), so it
//! shows which logs a client of its version keeps without sending them:
//! written by a newer liblsq, or damaged.
//!
//! Exit status: 0 done, 1 failed (the reason on stderr), 2 usage error.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use lsq::outbox::{unreadable, Outbox, Record, State, Stats, Unreadable, Which};
use serde_json::{json, Value};

const USAGE: &str = "\
usage: lsq-outbox [--json] PATH COMMAND

PATH is the client's `outbox` option: a liblsq call-log outbox (SQLite).
It may be open by a running client; this tool never creates it.

commands:
  list [pending|dead|all] [--limit N]
                what waits to be sent or was given up on (dead), oldest first:
                since when, attempts, last HTTP status and reason, CallSessionId,
                and whether this liblsq can read it (default: all, at most 100)
  retry [ID]    put dead logs back in the queue, due now (all, or the one ID);
                the client sends them at its next pass
  purge-dead    remove every dead log for good
  stats         counts, age of the oldest pending log, attempts, size on disk,
                pending logs this liblsq cannot read (kept for a newer liblsq)

options:
  --json        machine-readable output (list, stats)
  -h, --help    this text
";

enum Command {
    List { which: Which, limit: usize },
    Retry(Option<u64>),
    PurgeDead,
    Stats,
}

struct Args {
    json: bool,
    path: String,
    command: Command,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse(args: Vec<String>) -> Result<Parsed, String> {
    let mut json = false;
    let mut words = Vec::new();
    let mut limit: Option<usize> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => json = true,
            "--limit" => {
                let n = it.next().ok_or("--limit needs a number")?;
                limit = Some(
                    n.parse()
                        .map_err(|_| format!("--limit {n}: not a number"))?,
                );
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => words.push(a),
        }
    }
    let mut words = words.into_iter();
    let path = words.next().ok_or("missing PATH and COMMAND")?;
    let command = words.next().ok_or("missing COMMAND")?;
    let rest: Vec<String> = words.collect();
    let command = match (command.as_str(), rest.as_slice()) {
        ("list", []) => Command::List {
            which: Which::All,
            limit: limit.unwrap_or(100),
        },
        ("list", [which]) => Command::List {
            which: match which.as_str() {
                "pending" => Which::Pending,
                "dead" => Which::Dead,
                "all" => Which::All,
                other => return Err(format!("list {other}: expected pending, dead or all")),
            },
            limit: limit.unwrap_or(100),
        },
        ("retry", []) => Command::Retry(None),
        ("retry", [id]) => {
            Command::Retry(Some(id.parse().map_err(|_| {
                format!("retry {id}: an ID is a number, as `list` shows it")
            })?))
        }
        ("purge-dead", []) => Command::PurgeDead,
        ("stats", []) => Command::Stats,
        ("list" | "retry" | "purge-dead" | "stats", _) => {
            return Err(format!("too many arguments for {command}"))
        }
        (other, _) => return Err(format!("unknown command {other}")),
    };
    if limit.is_some() && !matches!(command, Command::List { .. }) {
        return Err("--limit goes with list".into());
    }
    Ok(Parsed::Run(Args {
        json,
        path,
        command,
    }))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `YYYY-MM-DD HH:MM:SS UTC` (the civil-from-days algorithm of H. Hinnant;
/// no time-zone database needed, and UTC is what LeadSquared logs use).
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A duration for people: "3d 4h", "2h 5m", "42s".
fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn when(ms: i64, now: i64) -> String {
    if ms <= now {
        format!("{} ({} ago)", utc(ms), span(now - ms))
    } else {
        format!("{} (in {})", utc(ms), span(ms - now))
    }
}

fn record_json(r: &Record) -> Value {
    json!({
        "id": r.id,
        "state": r.state.as_str(),
        "accepted_at_ms": r.accepted_at,
        "call_session_id": r.call_session_id,
        "attempts": r.attempts,
        "next_try_at_ms": r.next_try_at,
        "last_status": r.last_status,
        "last_reason": r.last_reason,
        // Why this liblsq cannot read the payload (null: it can): such a log
        // is kept, not sent, for a newer liblsq.
        "unreadable": unreadable(&r.payload).map(|why| why.to_string()),
        // The stored call log as an object; a payload that is not JSON (it never should be)
        // is shown as the string it is rather than lost.
        "payload": serde_json::from_str::<Value>(&r.payload)
            .unwrap_or_else(|_| Value::String(r.payload.clone())),
    })
}

fn print_record(r: &Record, now: i64) {
    println!(
        "#{} {}  CallSessionId {}  accepted {}",
        r.id,
        r.state.as_str(),
        r.call_session_id,
        when(r.accepted_at, now)
    );
    let last = match (r.attempts, r.last_status) {
        (0, _) => "never tried yet".to_string(),
        (_, 0) => format!("last try: no HTTP answer: {}", r.last_reason),
        (_, s) => format!("last try: HTTP {s}: {}", r.last_reason),
    };
    match r.state {
        State::Pending => println!(
            "    attempts {}, next try {}; {last}",
            r.attempts,
            when(r.next_try_at, now)
        ),
        State::Dead => println!("    attempts {}, given up; {last}", r.attempts),
    }
    if let Some(why) = unreadable(&r.payload) {
        println!("    unreadable: {why}: kept for a newer liblsq (this one never sends it)");
    }
}

fn stats_json(path: &str, s: &Stats, unreadable: &[(u64, Unreadable)], now: i64) -> Value {
    json!({
        "path": path,
        "pending": s.pending,
        "dead": s.dead,
        "oldest_pending_at_ms": s.oldest_pending_at,
        "oldest_pending_age_ms": s.oldest_pending_at.map(|t| (now - t).max(0)),
        "oldest_dead_at_ms": s.oldest_dead_at,
        "next_due_at_ms": s.next_due_at,
        "pending_attempts": s.pending_attempts.iter()
            .map(|(a, n)| json!({"attempts": a, "logs": n})).collect::<Vec<_>>(),
        "total_attempts": s.total_attempts,
        "file_bytes": s.file_bytes,
        "unreadable_pending": unreadable.len(),
    })
}

fn print_stats(path: &str, s: &Stats, unreadable: &[(u64, Unreadable)], now: i64) {
    println!("outbox {path}: {} bytes on disk", s.file_bytes);
    match s.oldest_pending_at {
        Some(t) => println!(
            "pending: {} (oldest accepted {}; next try {})",
            s.pending,
            when(t, now),
            s.next_due_at.map_or_else(|| "-".into(), |t| when(t, now))
        ),
        None => println!("pending: 0"),
    }
    match s.oldest_dead_at {
        Some(t) => println!(
            "dead: {} (oldest accepted {}): see `list dead`, then `retry` or `purge-dead`",
            s.dead,
            when(t, now)
        ),
        None => println!("dead: 0"),
    }
    if !s.pending_attempts.is_empty() {
        let hist: Vec<String> = s
            .pending_attempts
            .iter()
            .map(|(a, n)| {
                let logs = if *n == 1 {
                    "1 log has".to_string()
                } else {
                    format!("{n} logs have")
                };
                match a {
                    0 => format!("{logs} not failed yet"),
                    1 => format!("{logs} failed once"),
                    _ => format!("{logs} failed {a} times"),
                }
            })
            .collect();
        println!("pending logs: {}", hist.join(", "));
    }
    println!("failed attempts of stored logs: {}", s.total_attempts);
    if let Some((first, _)) = unreadable.first() {
        println!(
            "unreadable: {} pending log{} kept for a newer liblsq (this one cannot read {}; \
             the first is #{first}, see `list pending`)",
            unreadable.len(),
            if unreadable.len() == 1 { "" } else { "s" },
            if unreadable.len() == 1 { "it" } else { "them" },
        );
    }
}

fn run(args: Args) -> Result<(), String> {
    let outbox = Outbox::open_for_ops(&args.path).map_err(|e| e.to_string())?;
    let now = now_ms();
    match args.command {
        Command::List { which, limit } => {
            let records = outbox.list(which, limit).map_err(|e| e.to_string())?;
            let (pending, dead) = outbox.counts().map_err(|e| e.to_string())?;
            if args.json {
                let v = json!({
                    "pending": pending,
                    "dead": dead,
                    "records": records.iter().map(record_json).collect::<Vec<_>>(),
                });
                println!("{v:#}");
                return Ok(());
            }
            for r in &records {
                print_record(r, now);
            }
            if pending + dead == 0 {
                println!("the outbox is empty: nothing pending, nothing dead");
            } else {
                println!("{pending} pending, {dead} dead; {} shown", records.len());
            }
        }
        Command::Retry(id) => {
            let n = outbox.retry_dead(id, now).map_err(|e| e.to_string())?;
            match (id, n) {
                (Some(id), 0) => {
                    return Err(format!(
                        "no dead log with id {id} in {} (`list dead` shows them)",
                        args.path
                    ))
                }
                (_, n) => println!(
                    "{n} dead log{} put back in the queue, due now: the client sends {} at \
                     its next pass",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "it" } else { "them" }
                ),
            }
        }
        Command::PurgeDead => {
            let n = outbox.purge_dead().map_err(|e| e.to_string())?;
            println!("{n} dead log{} removed", if n == 1 { "" } else { "s" });
        }
        Command::Stats => {
            let s = outbox.stats().map_err(|e| e.to_string())?;
            let unreadable = outbox.unreadable_pending().map_err(|e| e.to_string())?;
            if args.json {
                println!("{:#}", stats_json(&args.path, &s, &unreadable, now));
            } else {
                print_stats(&args.path, &s, &unreadable, now);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lsq-outbox: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Ok(Parsed::Run(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lsq-outbox: {e}");
                ExitCode::from(1)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn spans_read_like_people_say_them() {
        assert_eq!(span(42_000), "42s");
        assert_eq!(span(125_000), "2m 5s");
        assert_eq!(span(7_500_000), "2h 5m");
        assert_eq!(span(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
    }
}
