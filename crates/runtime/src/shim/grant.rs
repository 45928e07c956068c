//! Installing a seccomp filter needs `no_new_privs` or `CAP_SYS_ADMIN`, and libcontainer runs
//! the executor after it has dropped the container's capabilities. A container without
//! `noNewPrivileges` (docker's, podman's and Kubernetes' default) must keep its setuid
//! binaries working, so Rune does not set the flag: it asks libcontainer to leave
//! `CAP_SYS_ADMIN` (and `CAP_SETPCAP`, to shed it from the bounding set) in the process, and the
//! executor drops exactly what was added right after installing the filter, then checks that
//! the capability sets are exactly what `config.json` asked for.

use std::collections::HashSet;

use caps::{CapSet, Capability as Cap};
use libcontainer::capabilities::CapabilityExt;
use oci_spec::runtime::{Capability, Process};

/// The capability sets the process must end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    effective: Vec<Cap>,
    permitted: Vec<Cap>,
    bounding: Vec<Cap>,
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("dropping the capabilities Rune borrowed to install its filter: {0}")]
    Drop(String),
    #[error("capabilities after Rune's filter: {set} is {got:?}, config.json asked for {want:?}")]
    Mismatch {
        set: &'static str,
        got: Vec<Cap>,
        want: Vec<Cap>,
    },
}

const NEEDED: [Capability; 2] = [Capability::SysAdmin, Capability::Setpcap];

fn sorted(set: impl IntoIterator<Item = Cap>) -> Vec<Cap> {
    let mut v: Vec<Cap> = set.into_iter().collect();
    v.sort_by_key(|c| c.index());
    v
}

impl Grant {
    /// Adds what the filter install needs to `process`, if it lacks it; `None` when nothing
    /// had to be added (`noNewPrivileges`, or the process keeps `CAP_SYS_ADMIN` anyway).
    pub fn add_to(process: &mut Process) -> Option<Grant> {
        if process.no_new_privileges() == Some(true) {
            return None;
        }
        let mut caps = process.capabilities().clone()?;
        let has = caps
            .effective()
            .as_ref()
            .is_some_and(|e| e.contains(&Capability::SysAdmin));
        if has {
            return None;
        }
        let grant = Grant {
            effective: sorted(caps.effective().iter().flatten().map(|c| c.to_cap())),
            permitted: sorted(caps.permitted().iter().flatten().map(|c| c.to_cap())),
            bounding: sorted(caps.bounding().iter().flatten().map(|c| c.to_cap())),
        };
        let with = |set: &Option<HashSet<Capability>>| {
            let mut s = set.clone().unwrap_or_default();
            s.extend(NEEDED);
            Some(s)
        };
        caps.set_effective(with(caps.effective()));
        caps.set_permitted(with(caps.permitted()));
        caps.set_bounding(with(caps.bounding()));
        process.set_capabilities(Some(caps));
        Some(grant)
    }

    /// In the container process, after the filter is installed: back to exactly the sets
    /// `config.json` asked for, checked by reading them back.
    pub fn drop_exactly(&self) -> Result<(), GrantError> {
        let drop_err = |e: caps::errors::CapsError| GrantError::Drop(e.to_string());
        let bounding: HashSet<Cap> = self.bounding.iter().copied().collect();
        // CAP_SETPCAP last: dropping from the bounding set needs it in the effective set.
        for cap in [Cap::CAP_SYS_ADMIN, Cap::CAP_SETPCAP] {
            if !bounding.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap).map_err(drop_err)?;
            }
        }
        let effective: HashSet<Cap> = self.effective.iter().copied().collect();
        let permitted: HashSet<Cap> = self.permitted.iter().copied().collect();
        caps::set(None, CapSet::Effective, &effective).map_err(drop_err)?;
        caps::set(None, CapSet::Permitted, &permitted).map_err(drop_err)?;
        for (set, name, want) in [
            (CapSet::Effective, "effective", &self.effective),
            (CapSet::Permitted, "permitted", &self.permitted),
            (CapSet::Bounding, "bounding", &self.bounding),
        ] {
            let got = sorted(caps::read(None, set).map_err(drop_err)?);
            if &got != want {
                return Err(GrantError::Mismatch {
                    set: name,
                    got,
                    want: want.clone(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxCapabilitiesBuilder;

    #[test]
    fn adds_only_what_is_missing_and_remembers_the_rest() {
        let docker: HashSet<Capability> = [Capability::Chown, Capability::Setuid].into();
        let mut p = Process::default();
        p.set_no_new_privileges(None);
        p.set_capabilities(Some(
            LinuxCapabilitiesBuilder::default()
                .bounding(docker.clone())
                .effective(docker.clone())
                .permitted(docker.clone())
                .build()
                .unwrap(),
        ));
        let g = Grant::add_to(&mut p).unwrap();
        assert_eq!(g.effective, sorted([Cap::CAP_CHOWN, Cap::CAP_SETUID]));
        let eff = p
            .capabilities()
            .as_ref()
            .unwrap()
            .effective()
            .clone()
            .unwrap();
        assert!(eff.contains(&Capability::SysAdmin) && eff.contains(&Capability::Chown));
        p.set_no_new_privileges(Some(true));
        assert!(Grant::add_to(&mut p).is_none());
    }
}
