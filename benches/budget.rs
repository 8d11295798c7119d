//! `cargo bench --bench budget`: how many popups reach the agent in time
//! when one account's budget is shared by lookups, popups and call logs.
//!
//! Against the in-process emulator enforcing LeadSquared's limit of 25
//! requests per 5 s itself (`Config::rate_limit`; it counts every arrival,
//! the rejected ones included, as the contract describes) and answering
//! every request after 50 ms or 2 s (`Config::delay`), with its sample data.
//!
//! **The call generator.** Calls arrive at random instants (uniform over the
//! point's 30 s, 8 s in quick mode: Poisson arrivals given their number, so
//! each point offers exactly its rate; a fixed seed, so every client and
//! latency sees the same calls). Each call rings a queue of K = 3 agents at once (sample
//! users, by UserId GUID), from a caller whose number is a sample lead's
//! (the callers are taken in turn, so a number comes back only after all the
//! others: the 26 sample numbers both clients find, so most lookups are
//! cold); each call ends `CALL_LEN` (8 s) after it rang, with a call log (Answered, with its CallSessionId).
//!
//! **Delivered in time**: the emulator received the popup (200) within
//! `max_age` (10 s) of the ring, counted from the emulator's own record of
//! each request; late or refused popups, or popups never sent, are not.
//!
//! **The clients.**
//! - liblsq with its default options (25/5 limiter, lead cache,
//!   popups before lookups before logs, `max_age_ms` 10000), plus
//!   `default_country_code=91` and `proxy=none`: each leg is one
//!   `agent_ringing_async`, each call log one `log_call_async` (in memory, no
//!   outbox).
//! - **naive**, what a `CURL()` dialplan does: for each leg, on its own
//!   thread, one blocking `GET RetrieveLeadByPhoneNumber` (the caller's
//!   digits) and, when it answers with a lead, one blocking `POST
//!   ShowAgentPopup`; for each call log one blocking `POST LogCall` on its
//!   own thread. A new connection per request (a `ureq` agent per request),
//!   a 10 s timeout per request, no limiter, no cache, no retry, no
//!   priorities: everything first come, first served.
//!
//! Then the scenario: 30 agent legs rung at once against a server
//! answering in 2 s, 25/5.
//!
//! Seven load points, 10 to 120 calls a minute, four runs at once per point
//! (about 5 minutes); `LSQ_BENCH_QUICK=1`: two load points of 8 s (a smoke run). Also printed
//! as Markdown to target/bench/budget.md.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lsq::{CallLog, CallStatus, Client, Direction, Options, Popup, Ringing};
use lsq_emulator::{Config, Data, Emulator, Endpoint, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

/// The sample data's active users.
const USERS: [&str; 5] = [
    "a484b8fc-0425-48f6-abf8-15af4cb65137",
    "b6c5b3ac-dd04-4df5-aa38-0fe6a9cc7722",
    "d0d770d6-2432-4cad-a372-2e122b1c4487",
    "74afbd90-170c-4860-a944-e4c8519da8c0",
    "2467a9ad-7cf7-4d5e-adfd-15f1aee51eb1",
];
const K: usize = 3;
const AGENT_NUMBER: &str = "1001";
const DISPLAY: &str = "+91-8611795989";
const MAX_AGE: Duration = Duration::from_secs(10);
const CALL_LEN: Duration = Duration::from_secs(8);
const LIMIT: (u32, Duration) = (25, Duration::from_secs(5));

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Lsq,
    Naive,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Lsq => "liblsq",
            Kind::Naive => "naive",
        }
    }
}

/// A lead of the sample data: the number a caller rings from, and its id.
#[derive(Clone)]
struct Caller {
    number: String,
    lead: String,
}

/// One call of the generator.
struct Call {
    at: Duration,
    caller: Caller,
    session: String,
    agents: Vec<&'static str>,
}

/// What the emulator saw.
#[derive(Default, Clone, Copy)]
struct Outcome {
    legs: usize,
    on_time: usize,
    late: usize,
    /// The latest of the late popups, past `max_age`.
    worst_late: Duration,
    lookups: u64,
    popup_requests: u64,
    limited: u64,
    logs_offered: usize,
    logs_delivered: usize,
}

impl Outcome {
    fn share(&self) -> f64 {
        if self.legs == 0 {
            return 1.0;
        }
        self.on_time as f64 / self.legs as f64
    }
}

fn main() {
    let quick = std::env::var("LSQ_BENCH_QUICK").is_ok_and(|v| v == "1");
    let (mut rates, load): (Vec<f64>, Duration) = if quick {
        (vec![20.0, 90.0], Duration::from_secs(8))
    } else {
        (
            vec![10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0],
            Duration::from_secs(30),
        )
    };
    // LSQ_BENCH_RATES=60,120: only these points (calls per minute).
    if let Ok(list) = std::env::var("LSQ_BENCH_RATES") {
        rates = list
            .split(',')
            .map(|r| r.trim().parse().expect("LSQ_BENCH_RATES: numbers"))
            .collect();
    }
    let callers = sample_callers();
    println!(
        "budget benchmark: {} sample callers, K = {K} agents per call, {} s of calls per point, emulator at {}/{} s\n",
        callers.len(),
        load.as_secs(),
        LIMIT.0,
        LIMIT.1.as_secs()
    );
    let delays = [Duration::from_millis(50), Duration::from_secs(2)];
    let kinds = [Kind::Lsq, Kind::Naive];
    let mut table: Vec<(f64, Vec<Outcome>)> = Vec::new();
    for (p, &rate) in rates.iter().enumerate() {
        // The seed is the point's place in the full list, so a point run
        // alone (LSQ_BENCH_RATES) sees the same calls as in the full run.
        let p = [10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0]
            .iter()
            .position(|&r| r == rate)
            .unwrap_or(p);
        let calls = generate(rate, load, &callers, 7 + p as u64);
        // The four runs of a point at once, each against its own emulator
        // (its own budget): the requests are few, the wall time is not.
        let outcomes: Vec<Outcome> = thread::scope(|s| {
            let runs: Vec<_> = delays
                .iter()
                .flat_map(|&d| kinds.iter().map(move |&k| (d, k)))
                .map(|(d, k)| {
                    let calls = &calls;
                    s.spawn(move || run_calls(k, d, calls))
                })
                .collect();
            runs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, o) in outcomes.iter().enumerate() {
            let (d, k) = (delays[i / 2], kinds[i % 2]);
            println!(
                "{rate:>5.0} calls/min  {:<6} {:>4} ms: {:>3}/{:<3} popups in time ({:>5.1}%), {} late (at most {} ms past max_age); {} lookups, {} popup requests, {} rate-limited answers; call logs {}/{}",
                k.name(),
                d.as_millis(),
                o.on_time,
                o.legs,
                o.share() * 100.0,
                o.late,
                o.worst_late.as_millis(),
                o.lookups,
                o.popup_requests,
                o.limited,
                o.logs_delivered,
                o.logs_offered
            );
        }
        table.push((rate, outcomes));
    }

    let mut md = String::new();
    let _ = writeln!(
        md,
        "Popups delivered within `max_age` (10 s), K = {K} agents per call, {} s of random arrivals per point, emulator at 25/5:\n",
        load.as_secs()
    );
    let _ = writeln!(
        md,
        "| calls/min (legs/min) | legs | liblsq, 50 ms | naive, 50 ms | liblsq, 2 s | naive, 2 s |"
    );
    let _ = writeln!(md, "| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (rate, o) in &table {
        let _ = writeln!(
            md,
            "| {rate:.0} ({:.0}) | {} | {} | {} | {} | {} |",
            rate * K as f64,
            o[0].legs,
            pct(&o[0]),
            pct(&o[1]),
            pct(&o[2]),
            pct(&o[3])
        );
    }
    let _ = writeln!(
        md,
        "| **below 95% from** | | {} | {} | {} | {} |",
        threshold(&table, 0),
        threshold(&table, 1),
        threshold(&table, 2),
        threshold(&table, 3)
    );
    let _ = writeln!(
        md,
        "\nRequests per call and call logs delivered during the run (same runs):\n"
    );
    let _ = writeln!(md, "| calls/min | client, latency | lookups/call | popup requests/call | rate-limited answers | call logs delivered |");
    let _ = writeln!(md, "| ---: | --- | ---: | ---: | ---: | ---: |");
    for (rate, o) in &table {
        for (i, o) in o.iter().enumerate() {
            let calls = (o.legs / K).max(1) as f64;
            let _ = writeln!(
                md,
                "| {rate:.0} | {}, {} | {:.2} | {:.2} | {} | {}/{} |",
                kinds[i % 2].name(),
                if i < 2 { "50 ms" } else { "2 s" },
                o.lookups as f64 / calls,
                o.popup_requests as f64 / calls,
                o.limited,
                o.logs_delivered,
                o.logs_offered
            );
        }
    }

    let burst = thirty_legs(&callers);
    let _ = writeln!(
        md,
        "\n30 agent legs rung at once, server answering in 2 s, 25/5, `max_age` 10 s:\n"
    );
    let _ = writeln!(md, "| legs | liblsq (default options) | naive |");
    let _ = writeln!(md, "| --- | ---: | ---: |");
    for (name, lsq, naive) in &burst {
        let _ = writeln!(
            md,
            "| {name} | {} of 30 shown | {} of 30 shown |",
            lsq.on_time, naive.on_time
        );
    }
    println!("\n{md}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("budget.md"), &md).unwrap();
}

fn pct(o: &Outcome) -> String {
    format!("{:.1}%", o.share() * 100.0)
}

/// The first load (calls/min) at which run `i` fell below 95%.
fn threshold(table: &[(f64, Vec<Outcome>)], i: usize) -> String {
    table.iter().find(|(_, o)| o[i].share() < 0.95).map_or(
        format!("not within {:.0}", table.last().map_or(0.0, |t| t.0)),
        |(r, _)| format!("{r:.0}"),
    )
}

/// Sample leads whose number both clients find: liblsq's lookup (with
/// `default_country_code=91`) and the naive lookup of the number's digits.
fn sample_callers() -> Vec<Caller> {
    let data = Data::sample();
    let emu = Emulator::start(Config {
        data: data.clone(),
        ..Config::default()
    })
    .expect("start the emulator");
    let client = lsq_client(emu.url());
    let mut callers = Vec::new();
    for lead in data.leads() {
        let id = lead["ProspectID"].as_str().unwrap_or_default().to_string();
        let Some(number) = ["Phone", "Mobile"]
            .iter()
            .find_map(|f| lead[*f].as_str().map(str::to_string))
        else {
            continue;
        };
        let found = client.find_lead(&number);
        let lsq_ok = found.outcome.as_ref().is_ok_and(|f| f.lead.lead_id == id);
        let naive_ok = naive_lookup(emu.url(), &number).as_deref() == Some(id.as_str());
        if lsq_ok && naive_ok {
            callers.push(Caller { number, lead: id });
        }
    }
    assert!(
        callers.len() >= 10,
        "too few sample callers: {}",
        callers.len()
    );
    callers
}

/// `per_min × load` calls at random instants of `load` (uniform, sorted:
/// Poisson arrivals given their number, so every point offers exactly its
/// load); callers in turn, agents in turn.
fn generate(per_min: f64, load: Duration, callers: &[Caller], seed: u64) -> Vec<Call> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let n = (per_min * load.as_secs_f64() / 60.0).round() as usize;
    let mut at: Vec<f64> = (0..n).map(|_| rng.f64() * load.as_secs_f64()).collect();
    at.sort_by(f64::total_cmp);
    at.into_iter()
        .enumerate()
        .map(|(i, t)| Call {
            at: Duration::from_secs_f64(t),
            caller: callers[i % callers.len()].clone(),
            session: format!("call-{seed}-{i}"),
            agents: (0..K).map(|j| USERS[(i + j) % USERS.len()]).collect(),
        })
        .collect()
}

fn emulator(delay: Duration) -> Emulator {
    Emulator::start(Config {
        rate_limit: Some(LIMIT),
        delay,
        data: Data::sample(),
        log_limit: Some(1_000_000),
        ..Config::default()
    })
    .expect("start the emulator")
}

fn lsq_client(url: &str) -> Client {
    let mut o = Options::default();
    for (k, v) in [("proxy", "none"), ("default_country_code", "91")] {
        o.set(k, v).unwrap();
    }
    Client::new(url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, o).expect("client")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Runs the calls against a fresh emulator with `delay`; counts what it saw.
fn run_calls(kind: Kind, delay: Duration, calls: &[Call]) -> Outcome {
    let emu = emulator(delay);
    let url = emu.url().to_string();
    let client = (kind == Kind::Lsq).then(|| lsq_client(&url));
    // Events: (when, call index, is it the call log).
    let mut events: Vec<(Duration, usize, bool)> = calls
        .iter()
        .enumerate()
        .flat_map(|(i, c)| [(c.at, i, false), (c.at + CALL_LEN, i, true)])
        .collect();
    events.sort_by_key(|e| e.0);
    let start = Instant::now() + Duration::from_millis(200);
    let mut rung: HashMap<(String, String), Instant> = HashMap::new();
    let mut last_ring = start;
    for (at, i, is_log) in events {
        let when = start + at;
        if let Some(wait) = when.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let call = &calls[i];
        if is_log {
            let now = unix_now();
            match &client {
                Some(c) => {
                    let log = call_log(call, now);
                    c.log_call_async(&log, |_| {}).expect("log accepted");
                }
                None => {
                    let (url, call_json) = (url.clone(), naive_log_body(call, now));
                    thread::spawn(move || naive_post(&url, LOG_PATH, &call_json));
                }
            }
            continue;
        }
        let now = Instant::now();
        last_ring = now;
        for &agent in &call.agents {
            rung.insert((call.session.clone(), agent.to_string()), now);
            match &client {
                Some(c) => {
                    let r = ringing(call, agent);
                    c.agent_ringing_async(&r, |_| {}).expect("ringing queued");
                }
                None => {
                    let (url, caller, session) =
                        (url.clone(), call.caller.clone(), call.session.clone());
                    thread::spawn(move || naive_leg(&url, &caller, &session, agent));
                }
            }
        }
    }
    // Nothing can arrive in time after the last ring's max_age.
    if let Some(wait) =
        (last_ring + MAX_AGE + Duration::from_millis(300)).checked_duration_since(Instant::now())
    {
        thread::sleep(wait);
    }
    let outcome = count(&emu, &rung, calls.len());
    drop(client);
    outcome
}

/// Counts, from the emulator's records, the popups received within
/// `max_age` of their leg's ring.
fn count(emu: &Emulator, rung: &HashMap<(String, String), Instant>, calls: usize) -> Outcome {
    let mut seen = HashSet::new();
    let (mut on_time, mut late, mut worst_late) = (0, 0, Duration::ZERO);
    for r in emu.requests_for(Endpoint::Popup) {
        if r.status != 200 {
            continue;
        }
        let Some(body) = r.json() else { continue };
        let key = (
            body["CallSessionId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            body["UserId"].as_str().unwrap_or_default().to_string(),
        );
        let Some(&rang) = rung.get(&key) else {
            continue;
        };
        if !seen.insert(key) {
            continue;
        }
        let after = r.arrived.saturating_duration_since(rang);
        if after <= MAX_AGE {
            on_time += 1;
        } else {
            late += 1;
            worst_late = worst_late.max(after - MAX_AGE);
        }
    }
    Outcome {
        legs: rung.len(),
        on_time,
        late,
        worst_late,
        lookups: emu.count_for(Endpoint::LeadByPhone),
        popup_requests: emu.count_for(Endpoint::Popup),
        limited: emu.count_with_status(429),
        logs_offered: calls,
        logs_delivered: emu.call_log_count(),
    }
}

fn ringing<'a>(call: &'a Call, agent: &'a str) -> Ringing<'a> {
    Ringing {
        caller_number: &call.caller.number,
        agent_number: AGENT_NUMBER,
        display_number: DISPLAY,
        direction: Direction::Inbound,
        call_session_id: &call.session,
        user: agent,
        lead_id: None,
        tag: None,
    }
}

fn call_log(call: &Call, now: i64) -> CallLog<'_> {
    CallLog {
        source_number: &call.caller.number,
        destination_number: AGENT_NUMBER,
        display_number: DISPLAY,
        direction: Direction::Inbound,
        call_session_id: &call.session,
        status: CallStatus::Answered,
        start_time: now - CALL_LEN.as_secs() as i64,
        end_time: now,
        duration_s: 5,
        user: Some(call.agents[0]),
        lead_id: None,
        resource_url: None,
        caller_source: None,
        tag: None,
    }
}

// --- the naive client ----------------------------------------------------

const LEAD_PATH: &str = "/v2/LeadManagement.svc/RetrieveLeadByPhoneNumber";
const LOG_PATH: &str = "/v2/Telephony.svc/LogCall";

/// A fresh agent per request: a new connection each time, as `CURL()`.
fn naive_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// One blocking lookup: the LeadId of the first lead answered, if any.
fn naive_lookup(url: &str, number: &str) -> Option<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let mut answer = naive_agent()
        .get(format!("{url}{LEAD_PATH}?phone={digits}"))
        .header("x-LSQ-AccessKey", DEFAULT_ACCESS_KEY)
        .header("x-LSQ-SecretKey", DEFAULT_SECRET_KEY)
        .call()
        .ok()?;
    if answer.status() != 200 {
        return None;
    }
    let body: serde_json::Value =
        serde_json::from_str(&answer.body_mut().read_to_string().ok()?).ok()?;
    body.get(0)?["ProspectID"].as_str().map(str::to_string)
}

/// One blocking POST of a JSON body; the answer is not looked at.
fn naive_post(url: &str, path: &str, body: &str) {
    let _ = naive_agent()
        .post(format!("{url}{path}"))
        .header("x-LSQ-AccessKey", DEFAULT_ACCESS_KEY)
        .header("x-LSQ-SecretKey", DEFAULT_SECRET_KEY)
        .header("Content-Type", "application/json")
        .send(body)
        .map(|mut a| a.body_mut().read_to_string());
}

/// A leg: look the caller up, then show the popup if a lead was found.
fn naive_leg(url: &str, caller: &Caller, session: &str, agent: &str) {
    if let Some(lead) = naive_lookup(url, &caller.number) {
        naive_popup(url, caller, session, agent, &lead);
    }
}

fn naive_popup(url: &str, caller: &Caller, session: &str, agent: &str, lead: &str) {
    let body = serde_json::json!({
        "SourceNumber": caller.number,
        "DestinationNumber": AGENT_NUMBER,
        "DisplayNumber": DISPLAY,
        "Direction": "Inbound",
        "CallSessionId": session,
        "LeadId": lead,
        "UserId": agent,
    });
    naive_post(url, lsq::API_PATH, &body.to_string());
}

fn naive_log_body(call: &Call, now: i64) -> String {
    serde_json::json!({
        "SourceNumber": call.caller.number,
        "DestinationNumber": AGENT_NUMBER,
        "DisplayNumber": DISPLAY,
        "Direction": "Inbound",
        "CallSessionId": call.session,
        "Status": "Answered",
        "StartTime": utc(now - CALL_LEN.as_secs() as i64),
        "EndTime": utc(now),
        "CallDuration": 5,
        "UserId": call.agents[0],
    })
    .to_string()
}

/// Unix seconds as UTC `YYYY-MM-DD HH:MM:SS` (days to civil date, proleptic
/// Gregorian).
fn utc(secs: i64) -> String {
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

// --- the scenario --------------------------------------------------

/// 30 legs rung at once against a server answering in 2 s: 30 popups with
/// the lead known (the FreeSWITCH run), and 30 legs for one caller
/// whose lead is looked up (a ring-all). Four runs at once, each against its
/// own emulator.
fn thirty_legs(callers: &[Caller]) -> Vec<(&'static str, Outcome, Outcome)> {
    let caller = &callers[0];
    let scenarios = [
        ("30 popups, lead known (`show_agent_popup_async`; naive: 30 POSTs)", false),
        ("30 legs for one caller, lead looked up (`agent_ringing_async`; naive: 30 × GET + POST)", true),
    ];
    thread::scope(|s| {
        let runs: Vec<_> = scenarios
            .iter()
            .map(|&(name, lookup)| {
                let lsq = s.spawn(move || burst(Kind::Lsq, caller, lookup));
                let naive = s.spawn(move || burst(Kind::Naive, caller, lookup));
                (name, lsq, naive)
            })
            .collect();
        runs.into_iter()
            .map(|(n, a, b)| (n, a.join().unwrap(), b.join().unwrap()))
            .collect()
    })
}

fn burst(kind: Kind, caller: &Caller, lookup: bool) -> Outcome {
    let emu = emulator(Duration::from_secs(2));
    let url = emu.url().to_string();
    let client = (kind == Kind::Lsq).then(|| lsq_client(&url));
    thread::sleep(Duration::from_millis(200));
    let session = format!("burst-{lookup}");
    let barrier = Arc::new(Barrier::new(30));
    let rung = Arc::new(Mutex::new(HashMap::new()));
    thread::scope(|s| {
        for leg in 0..30 {
            let (barrier, rung, client, url, session) =
                (barrier.clone(), rung.clone(), &client, &url, &session);
            s.spawn(move || {
                // The sample has 5 active users: 6 calls from the same
                // caller ring all 5 at once; a leg is one (CallSessionId, UserId).
                let agent = USERS[leg % USERS.len()];
                let session = format!("{session}-{}", leg / USERS.len());
                barrier.wait();
                rung.lock()
                    .unwrap()
                    .insert((session.clone(), agent.to_string()), Instant::now());
                match (client, lookup) {
                    (Some(c), true) => {
                        let call = Call {
                            at: Duration::ZERO,
                            caller: caller.clone(),
                            session: session.clone(),
                            agents: vec![agent],
                        };
                        c.agent_ringing_async(&ringing(&call, agent), |_| {})
                            .expect("queued");
                    }
                    (Some(c), false) => {
                        let p = Popup {
                            source_number: &caller.number,
                            destination_number: AGENT_NUMBER,
                            display_number: DISPLAY,
                            direction: Direction::Inbound,
                            call_session_id: &session,
                            lead_id: &caller.lead,
                            user_id: agent,
                            tag: None,
                        };
                        c.show_agent_popup_async(&p, |_| {}).expect("queued");
                    }
                    (None, true) => naive_leg(url, caller, &session, agent),
                    (None, false) => naive_popup(url, caller, &session, agent, &caller.lead),
                }
            });
        }
    });
    thread::sleep(MAX_AGE + Duration::from_millis(300));
    let rung = rung.lock().unwrap().clone();
    let outcome = count(&emu, &rung, 0);
    drop(client);
    outcome
}
