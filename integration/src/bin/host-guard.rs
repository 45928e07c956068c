//! `host-guard snapshot FILE` records the host's mounts and cgroups in FILE;
//! `host-guard check FILE` exits 1, listing each change, if the host differs from FILE now.

use std::process::ExitCode;

use rune_integration::host_guard::Snapshot;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(verb), Some(file)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: host-guard snapshot|check FILE");
        return ExitCode::from(2);
    };
    let now = match Snapshot::take() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("host-guard: read the host's state: {e}");
            return ExitCode::from(2);
        }
    };
    match verb.as_str() {
        "snapshot" => match std::fs::write(file, now.to_text()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("host-guard: write {file}: {e}");
                ExitCode::from(2)
            }
        },
        "check" => {
            let Ok(text) = std::fs::read_to_string(file) else {
                eprintln!("host-guard: no snapshot in {file}");
                return ExitCode::from(2);
            };
            let changes = now.changes_since(&Snapshot::from_text(&text));
            if changes.is_empty() {
                return ExitCode::SUCCESS;
            }
            eprintln!("host-guard: the host changed outside the tests' own paths:");
            for c in changes {
                eprintln!("  {c}");
            }
            ExitCode::FAILURE
        }
        _ => {
            eprintln!("usage: host-guard snapshot|check FILE");
            ExitCode::from(2)
        }
    }
}
