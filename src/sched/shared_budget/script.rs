//! The one Redis script that holds an account's budget, and how it is
//! called (EVALSHA, and EVAL when the server answers NOSCRIPT: after a
//! restart or a SCRIPT FLUSH; EVAL also caches it again).
//!
//! It keeps the local limiter's rule ([`crate::sched::ratelimit`]) for every
//! client sharing the key: a request goes no earlier than W + margin after
//! the earliest of the last N slots, with margin = W/20 + 10 ms, and never
//! inside a server pause. Slots are *reserved* (a slot may be in the
//! future; its holder sleeps until then), so a caller learns its instant
//! in one round trip and nobody polls. Time is Redis's (`TIME`), so PBX
//! clocks do not matter. All times in the script are microseconds.
//!
//! Keys (see [`super::key`]): `grants`, a sorted set of slot times (member:
//! a ticket, score: the slot, or the request's answer once reported);
//! `limit`, a limit learned from a 429 (`"N W"`, stricter wins, expires);
//! `pause`, the end of a server pause (Retry-After).
//!
//! Operations (`ARGV[1]`):
//! - `acquire N W max_wait member`: N = 0 means no configured limit. The
//!   limit in force is the stricter of N/W and the learned one. Returns
//!   `{reserved (1/0), wait, learned N (0: none), learned W, slot}`;
//!   with reserved = 0 (the slot is further than max_wait) nothing is kept.
//! - `answered member keep`: the request of `member` got its answer now:
//!   it reached the server no later than this, so its slot moves here.
//! - `learn N W ttl_ms`: stores N/W if stricter than the stored limit.
//! - `pause duration`: nothing is granted before now + duration.

use std::sync::OnceLock;
use std::time::Duration;

use redis::{Connection, ErrorKind, RedisResult, Value};

use crate::sched::ratelimit::RateLimit;

pub(super) const SOURCE: &str = r#"
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local op = ARGV[1]
local function int(x) return string.format('%.0f', x) end
local function learned()
  local v = redis.call('GET', KEYS[2])
  if not v then return nil, nil end
  local n, w = string.match(v, '^(%d+) (%d+)$')
  if not n then return nil, nil end
  return tonumber(n), tonumber(w)
end
if op == 'acquire' then
  local n, w = tonumber(ARGV[2]), tonumber(ARGV[3])
  local ln, lw = learned()
  if ln and (n == 0 or ln * w < n * lw) then n, w = ln, lw end
  local at = now
  local p = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
  if p > at then at = p end
  local margin = 0
  if n > 0 then
    margin = math.floor(w / 20) + 10000
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - w - margin))
    if redis.call('ZCARD', KEYS[1]) >= n then
      local nth = redis.call('ZREVRANGE', KEYS[1], n - 1, n - 1, 'WITHSCORES')
      local bound = tonumber(nth[2]) + w + margin
      if bound > at then at = bound end
    end
  end
  local wait = at - now
  if wait > tonumber(ARGV[4]) then return {0, wait, ln or 0, lw or 0, at} end
  if n > 0 then
    redis.call('ZADD', KEYS[1], int(at), ARGV[5])
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -10002)
    redis.call('PEXPIRE', KEYS[1], int(math.ceil((wait + w + margin) / 1000) + 1000))
  end
  return {1, wait, ln or 0, lw or 0, at}
elseif op == 'answered' then
  local s = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if s and tonumber(s) < now then
    redis.call('ZADD', KEYS[1], 'XX', int(now), ARGV[2])
    local keep = tonumber(ARGV[3])
    if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], int(keep)) end
    return 1
  end
  return 0
elseif op == 'learn' then
  local n, w = tonumber(ARGV[2]), tonumber(ARGV[3])
  local ln, lw = learned()
  if (not ln) or n * lw < ln * w then
    redis.call('SET', KEYS[2], int(n) .. ' ' .. int(w), 'PX', ARGV[4])
    return 1
  end
  if n * lw == ln * w then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
  return 0
elseif op == 'pause' then
  local d = tonumber(ARGV[2])
  local untilp = now + d
  local p = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
  if untilp > p then
    redis.call('SET', KEYS[3], int(untilp), 'PX', int(math.ceil(d / 1000) + 1))
    return 1
  end
  return 0
end
return redis.error_reply('ERR liblsq budget script: unknown operation')
"#;

/// The script's SHA-1, as Redis names it (EVALSHA). Not a security use.
fn sha() -> &'static str {
    static SHA: OnceLock<String> = OnceLock::new();
    SHA.get_or_init(|| {
        let digest =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, SOURCE.as_bytes());
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// Runs one operation: EVALSHA, then EVAL if the server does not know the
/// script. Returns the reply and the round trips it took (1 or 2).
pub(super) fn run(
    conn: &mut Connection,
    keys: &[String; 3],
    args: &[&[u8]],
) -> (RedisResult<Value>, u64) {
    let call = |command: &str, body: &str, conn: &mut Connection| {
        let mut cmd = redis::cmd(command);
        cmd.arg(body).arg(keys.len());
        for key in keys {
            cmd.arg(key.as_str());
        }
        for arg in args {
            cmd.arg(*arg);
        }
        cmd.query::<Value>(conn)
    };
    match call("EVALSHA", sha(), conn) {
        Err(e) if e.kind() == ErrorKind::NoScriptError => (call("EVAL", SOURCE, conn), 2),
        other => (other, 1),
    }
}

/// Microseconds, as the script counts.
pub(super) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The `acquire` arguments (a limit of `None`: N = 0, only pauses and a
/// learned limit apply).
pub(super) fn acquire_args(
    limit: Option<RateLimit>,
    max_wait: Duration,
    member: &str,
) -> [String; 5] {
    let (n, w) = limit.map_or((0, 0), |l| (l.requests(), micros(l.window())));
    [
        "acquire".to_string(),
        n.to_string(),
        w.to_string(),
        micros(max_wait).to_string(),
        member.to_string(),
    ]
}

/// The `acquire` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AcquireReply {
    pub reserved: bool,
    pub wait: Duration,
    pub learned: Option<RateLimit>,
    /// The slot, in Redis's clock (µs since the epoch).
    pub slot_us: i64,
}

impl AcquireReply {
    pub(super) fn decode(value: Value) -> Option<AcquireReply> {
        let Value::Array(items) = value else {
            return None;
        };
        let ints: Vec<i64> = items
            .into_iter()
            .map(|v| match v {
                Value::Int(i) => Some(i),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let [reserved, wait, n, w, slot] = ints[..] else {
            return None;
        };
        let learned = (n > 0)
            .then(|| {
                RateLimit::new(
                    u32::try_from(n).ok()?,
                    Duration::from_micros(u64::try_from(w).ok()?),
                )
            })
            .flatten();
        Some(AcquireReply {
            reserved: reserved == 1,
            wait: Duration::from_micros(u64::try_from(wait).unwrap_or(0)),
            learned,
            slot_us: slot,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_margin_is_the_limiters() {
        // The script computes margin = floor(W/20) + 10 ms in µs; for every
        // whole-second window that is RateLimit::margin exactly.
        for w in [1, 2, 5, 7, 60, 3600] {
            let l = RateLimit::new(10, Duration::from_secs(w)).unwrap();
            let script = micros(l.window()) / 20 + 10_000;
            assert_eq!(Duration::from_micros(script), l.margin(), "W = {w}");
        }
        assert!(SOURCE.contains("math.floor(w / 20) + 10000"));
    }

    #[test]
    fn sha_is_redis_naming() {
        assert_eq!(sha().len(), 40);
        assert!(sha().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn replies_decode() {
        let v = Value::Array(vec![
            Value::Int(1),
            Value::Int(2_110_000),
            Value::Int(3),
            Value::Int(1_000_000),
            Value::Int(1_700_000_000_000_000),
        ]);
        let r = AcquireReply::decode(v).unwrap();
        assert!(r.reserved);
        assert_eq!(r.wait, Duration::from_micros(2_110_000));
        assert_eq!(r.learned, RateLimit::new(3, Duration::from_secs(1)));
        assert_eq!(AcquireReply::decode(Value::Int(1)), None);
        assert_eq!(
            AcquireReply::decode(Value::Array(vec![Value::Int(1)])),
            None
        );
    }
}
