//! `lsq-emulator`: run the LeadSquared stand-in from the command line (see `--help`), with
//! leads and users from `--data FILE`.
//!
//! Prints `lsq-emulator listening on URL` once ready, then one line per request (keys
//! redacted). Runs until killed; SIGINT and SIGTERM end it with their default behaviour.

mod cli;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use lsq_emulator::{Data, Emulator, TlsIdentity};

fn main() -> ExitCode {
    let parsed = cli::parse(std::env::args().skip(1), |k| std::env::var(k).ok());
    let mut args = match parsed {
        Ok(cli::Parsed::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(cli::Parsed::Run(args)) => args,
        Err(e) => {
            eprintln!("lsq-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        match TlsIdentity::from_pem_files(cert, key) {
            Ok(id) => args.config.tls = Some(id),
            Err(e) => {
                eprintln!("lsq-emulator: cannot use --tls-cert/--tls-key: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(path) = &args.data {
        match Data::load(path) {
            Ok(data) => {
                // stderr: stdout's first line stays the listening line scripts wait for.
                eprintln!(
                    "lsq-emulator: {} lead(s) and {} user(s) from {}",
                    data.leads().len(),
                    data.users().len(),
                    path.display()
                );
                args.config.data = data;
            }
            Err(e) => {
                eprintln!("lsq-emulator: cannot use --data {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let bind = args.config.bind;
    let emu = match Emulator::start(args.config) {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("lsq-emulator: cannot listen on {bind}: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(path) = &args.port_file {
        if let Err(e) = write_port_file(path, emu.port()) {
            eprintln!("lsq-emulator: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "lsq-emulator listening on {}", emu.url());
        let _ = out.flush();
    }
    // Serve until the process is killed.
    loop {
        std::thread::park();
    }
}

/// Writes the port atomically (a temporary file renamed into place), so a script that waits
/// for the file never reads it half-written.
fn write_port_file(path: &Path, port: u16) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, format!("{port}\n"))?;
    std::fs::rename(&tmp, path)
}
