//! Command-line arguments of `lsq-emulator` (hand-written: there are few).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lsq_emulator::{Config, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

pub(crate) const USAGE: &str = "\
lsq-emulator: a LeadSquared stand-in (pop-up, lead lookup and creation, user lookup, call
logs), to try a dialplan offline.

Usage: lsq-emulator [options]

  --data FILE              leads and users to answer lookups from: JSON
                           {\"leads\":[..],\"users\":[..]} (a sample ships as
                           emulator/data/sample.json); default: none, lookups answer []
  --port N                 port to listen on (default 8080; 0 picks a free port)
  --port-file PATH         after binding, write the port number to PATH
  --bind IP                address to listen on (default 127.0.0.1)
  --access-key KEY         accepted access key (default $LSQ_ACCESS_KEY, else a test key)
  --secret-key KEY         accepted secret key (default $LSQ_SECRET_KEY, else a test key)
  --rate-limit N/W         answer the limit after N requests per W seconds (e.g. 25/5),
                           counted over all endpoints together, as LeadSquared does
  --limit-status 429|403|200
                           status of a rate-limit answer (default 429); 200 answers the
                           limit in a 200 body with MXAPIRateLimitExceededException
  --retry-after VALUE      Retry-After header value sent with rate-limit answers
  --delay-ms N             wait N ms before every answer (a slow server)
  --tls-cert PATH          serve HTTPS with this PEM certificate chain (needs --tls-key)
  --tls-key PATH           PEM private key for --tls-cert
  --quiet                  print only the listening line, no per-request lines
  -h, --help               this help

Endpoints (keys as accessKey=..&secretKey=.. in the query, or x-LSQ-AccessKey and
x-LSQ-SecretKey headers):
  POST /v2/Telephony.svc/ShowAgentPopup                     JSON pop-up
  GET  /v2/LeadManagement.svc/RetrieveLeadByPhoneNumber?phone=DIGITS
  POST /v2/LeadManagement.svc/Lead.Create                   [{\"Attribute\":..,\"Value\":..}]
  GET  /v2/UserManagement.svc/User/Retrieve/ByEmailAddress?emailAddress=EMAIL
  POST /v2/Telephony.svc/LogCall                            JSON call log

Example (default test keys, sample data):
  lsq-emulator --data emulator/data/sample.json &
  curl 'http://127.0.0.1:8080/v2/LeadManagement.svc/RetrieveLeadByPhoneNumber?phone=918611795988' \\
    -H 'x-LSQ-AccessKey: u$r0123456789abcdef0123456789abcdef' \\
    -H 'x-LSQ-SecretKey: 0123456789abcdef0123456789abcdef01234567'

Keys are never printed.";

/// What the command line asked for.
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) config: Config,
    pub(crate) port_file: Option<PathBuf>,
    pub(crate) tls_cert: Option<PathBuf>,
    pub(crate) tls_key: Option<PathBuf>,
    pub(crate) data: Option<PathBuf>,
}

/// The result of parsing: run, or print help.
#[derive(Debug)]
pub(crate) enum Parsed {
    Run(Box<Args>),
    Help,
}

/// Parses the arguments (without the program name). `env` looks up environment variables.
pub(crate) fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Parsed, String> {
    let mut config = Config {
        quiet: false,
        ..Config::default()
    };
    let mut port: u16 = 8080;
    let mut bind: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut access_key = None;
    let mut secret_key = None;
    let mut port_file = None;
    let mut tls_cert = None;
    let mut tls_key = None;
    let mut data = None;

    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--quiet" => config.quiet = true,
            "--port" => {
                let v = value("--port")?;
                port = v.parse().map_err(|_| format!("bad --port: {v:?}"))?;
            }
            "--port-file" => port_file = Some(PathBuf::from(value("--port-file")?)),
            "--bind" => {
                let v = value("--bind")?;
                let v6 = v.trim_start_matches('[').trim_end_matches(']');
                bind = v6
                    .parse()
                    .map_err(|_| format!("bad --bind (an IP address): {v:?}"))?;
            }
            "--access-key" => access_key = Some(value("--access-key")?),
            "--secret-key" => secret_key = Some(value("--secret-key")?),
            "--rate-limit" => config.rate_limit = parse_rate(&value("--rate-limit")?)?,
            "--limit-status" => {
                let v = value("--limit-status")?;
                config.limit_status = match v.as_str() {
                    "429" => 429,
                    "403" => 403,
                    "200" => 200,
                    _ => return Err(format!("bad --limit-status (429, 403 or 200): {v:?}")),
                };
            }
            "--retry-after" => config.retry_after = Some(value("--retry-after")?),
            "--delay-ms" => {
                let v = value("--delay-ms")?;
                let ms: u64 = v.parse().map_err(|_| format!("bad --delay-ms: {v:?}"))?;
                config.delay = Duration::from_millis(ms);
            }
            "--tls-cert" => tls_cert = Some(PathBuf::from(value("--tls-cert")?)),
            "--tls-key" => tls_key = Some(PathBuf::from(value("--tls-key")?)),
            "--data" => data = Some(PathBuf::from(value("--data")?)),
            other => return Err(format!("unknown argument: {other:?} (try --help)")),
        }
    }
    if tls_cert.is_some() != tls_key.is_some() {
        return Err("--tls-cert and --tls-key go together".into());
    }
    config.bind = SocketAddr::new(bind, port);
    config.access_key = access_key
        .or_else(|| env("LSQ_ACCESS_KEY").filter(|k| !k.is_empty()))
        .unwrap_or_else(|| DEFAULT_ACCESS_KEY.to_owned());
    config.secret_key = secret_key
        .or_else(|| env("LSQ_SECRET_KEY").filter(|k| !k.is_empty()))
        .unwrap_or_else(|| DEFAULT_SECRET_KEY.to_owned());
    Ok(Parsed::Run(Box::new(Args {
        config,
        port_file,
        tls_cert,
        tls_key,
        data,
    })))
}

/// `N/W` (W in seconds, may have a fraction), or `0`/`off` for none.
fn parse_rate(v: &str) -> Result<Option<(u32, Duration)>, String> {
    if v == "0" || v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || format!("bad --rate-limit (N/W, e.g. 25/5): {v:?}");
    let (n, w) = v.split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let w: f64 = w.trim().parse().map_err(|_| bad())?;
    if !(w.is_finite() && w > 0.0 && w < 1e9) {
        return Err(bad());
    }
    Ok(Some((n, Duration::from_secs_f64(w))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Args, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match parse(args.iter().map(|s| s.to_string()), |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })? {
            Parsed::Run(a) => Ok(*a),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults() {
        let a = run(&[], &[]).unwrap();
        assert_eq!(a.config.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(a.config.access_key, DEFAULT_ACCESS_KEY);
        assert!(!a.config.quiet);
        assert!(a.config.rate_limit.is_none());
    }

    #[test]
    fn env_keys_then_flags() {
        let env = [("LSQ_ACCESS_KEY", "EA"), ("LSQ_SECRET_KEY", "ES")];
        let a = run(&[], &env).unwrap();
        assert_eq!(
            (a.config.access_key.as_str(), a.config.secret_key.as_str()),
            ("EA", "ES")
        );
        let a = run(&["--access-key", "FA", "--secret-key=FS"], &env).unwrap();
        assert_eq!(
            (a.config.access_key.as_str(), a.config.secret_key.as_str()),
            ("FA", "FS")
        );
    }

    #[test]
    fn all_flags() {
        let a = run(
            &[
                "--port",
                "0",
                "--bind",
                "::1",
                "--rate-limit",
                "25/5",
                "--limit-status",
                "403",
                "--retry-after",
                "1",
                "--delay-ms",
                "20",
                "--quiet",
                "--port-file",
                "/tmp/p",
                "--data=d.json",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(a.config.bind, "[::1]:0".parse().unwrap());
        assert_eq!(a.config.rate_limit, Some((25, Duration::from_secs(5))));
        assert_eq!(a.config.limit_status, 403);
        assert_eq!(a.config.retry_after.as_deref(), Some("1"));
        assert_eq!(a.config.delay, Duration::from_millis(20));
        assert!(a.config.quiet);
        assert_eq!(a.port_file, Some(PathBuf::from("/tmp/p")));
        assert_eq!(a.data, Some(PathBuf::from("d.json")));
        let a = run(&["--limit-status", "200"], &[]).unwrap();
        assert_eq!(a.config.limit_status, 200);
    }

    #[test]
    fn errors() {
        assert!(run(&["--port", "x"], &[]).is_err());
        assert!(run(&["--port"], &[]).is_err());
        assert!(run(&["--rate-limit", "25"], &[]).is_err());
        assert!(run(&["--limit-status", "500"], &[]).is_err());
        assert!(run(&["--tls-cert", "c.pem"], &[]).is_err());
        assert!(run(&["--frobnicate"], &[]).is_err());
        assert_eq!(run(&["--help"], &[]).unwrap_err(), "help");
    }
}
