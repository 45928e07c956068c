//! The VS-stage translation mode. The shim's separation from the program is the VS-stage page
//! table: with vsatp left Bare, the program would reach all of the shim's memory. A hart keeps
//! only the modes it implements (a write of another leaves vsatp as it was), so the mode is
//! not guessed from /proc/cpuinfo: each candidate, widest first, is written through the module
//! and read back after a probe entry, and the first that sticks is used; none sticking, the
//! shim refuses to run. The widest mode the hart implements is at least as wide as the host's
//! own (the host cannot use a mode the hart lacks), so the table covers every host address.

/// A VS-stage translation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub name: &'static str,
    /// vsatp.MODE
    pub satp_mode: u64,
    /// Page-table levels.
    pub levels: usize,
}

/// Widest first.
pub const MODES: [Mode; 3] = [
    Mode {
        name: "sv57",
        satp_mode: 10,
        levels: 5,
    },
    Mode {
        name: "sv48",
        satp_mode: 9,
        levels: 4,
    },
    Mode {
        name: "sv39",
        satp_mode: 8,
        levels: 3,
    },
];

/// The environment variable that narrows the candidates (for tests of the refusal on harts
/// that lack a mode; it cannot make the shim use a mode the hart does not keep).
pub const MODES_ENV: &str = "RUNE_SHIM_VS_MODES";

#[derive(Debug, thiserror::Error)]
pub enum VsatpError {
    #[error("{MODES_ENV}: {0:?} is not a list of sv57, sv48, sv39")]
    BadList(String),
    #[error(
        "the hart kept none of {tried} in vsatp (it read back {read_back:#x}): VS-mode could \
         not separate the shim from the program"
    )]
    NoneStuck { tried: String, read_back: u64 },
}

/// The candidates: every mode, or those `list` (comma-separated names) names.
pub fn candidates(list: Option<&str>) -> Result<Vec<Mode>, VsatpError> {
    let Some(list) = list else {
        return Ok(MODES.to_vec());
    };
    list.split(',')
        .map(|name| {
            MODES
                .iter()
                .copied()
                .find(|m| m.name == name.trim())
                .ok_or_else(|| VsatpError::BadList(list.to_owned()))
        })
        .collect()
}

/// vsatp for a table rooted at `root` (ASID 0).
pub fn vsatp(mode: Mode, root: u64) -> u64 {
    (mode.satp_mode << 60) | (root / 4096)
}

/// The first candidate the hart keeps: `attempt` builds what the mode needs (a table), writes
/// its vsatp and returns (the value written, the value read back, what it built).
pub fn choose<T, E>(
    candidates: &[Mode],
    mut attempt: impl FnMut(Mode) -> Result<(u64, u64, T), E>,
) -> Result<Result<(Mode, T), VsatpError>, E> {
    let mut read_back = 0;
    for &mode in candidates {
        let (written, got, built) = attempt(mode)?;
        if got == written {
            return Ok(Ok((mode, built)));
        }
        read_back = got;
    }
    let tried = candidates
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Err(VsatpError::NoneStuck { tried, read_back }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hart that keeps only `modes` (a write of another leaves vsatp at Bare, 0).
    fn hart(modes: &'static [u64]) -> impl FnMut(Mode) -> Result<(u64, u64, u64), ()> {
        move |m| {
            let written = vsatp(m, 0x8000_0000);
            let kept = modes.contains(&m.satp_mode);
            Ok((written, if kept { written } else { 0 }, m.satp_mode))
        }
    }

    #[test]
    fn the_widest_mode_the_hart_keeps() {
        let all = candidates(None).unwrap();
        assert_eq!(
            choose(&all, hart(&[8, 9, 10])).unwrap().unwrap().0.name,
            "sv57"
        );
        assert_eq!(choose(&all, hart(&[8, 9])).unwrap().unwrap().0.name, "sv48");
        assert_eq!(choose(&all, hart(&[8])).unwrap().unwrap().0.name, "sv39");
    }

    #[test]
    fn a_hart_that_keeps_none_is_refused() {
        let all = candidates(None).unwrap();
        let err = choose(&all, hart(&[])).unwrap().unwrap_err();
        assert!(
            err.to_string().contains("none of sv57, sv48, sv39"),
            "{err}"
        );
        // narrowed to sv57 on an Sv48 hart: refused, never Bare
        let only = candidates(Some("sv57")).unwrap();
        assert!(choose(&only, hart(&[8, 9])).unwrap().is_err());
        assert!(candidates(Some("sv57,bare")).is_err());
        assert_eq!(vsatp(MODES[1], 0x8000_0000) >> 60, 9);
    }
}
