//! `update`: new resource limits for a running container, from flags or from the OCI
//! `LinuxResources` JSON (`--resources -` is what containerd sends).

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use libcgroups::common::{CgroupManager, ControllerOpt};
use libcontainer::container::Container;
use liboci_cli::Update;
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources, Spec};

use crate::{commands, devices};

pub fn update(args: Update, root: &Path) -> Result<()> {
    let container = commands::load(&args.container_id, root)?;
    let resources = match &args.resources {
        Some(source) => read_resources(source)?,
        None => from_flags(&args),
    };
    let spec = commands::spec(&container)?;
    apply(&container, &resources, &spec)
        .with_context(|| format!("update container {}", args.container_id))
}

/// Writes `resources` into the container's cgroup as runc would. libcontainer 0.7 applies
/// the spec with `disable_oom_killer` always false (`memory.oom_control` stays 0 where runc
/// writes 1), and libcgroups re-adds its default device allowances on every write.
pub(super) fn apply(container: &Container, resources: &LinuxResources, spec: &Spec) -> Result<()> {
    let cgroup = commands::cgroup(container)?;
    cgroup.manager.apply(&ControllerOpt {
        resources,
        disable_oom_killer: oom_killer_disabled(spec),
        oom_score_adj: None,
        freezer_state: None,
    })?;
    Ok(devices::revoke_console(spec, &cgroup.path)?)
}

pub(super) fn oom_killer_disabled(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.memory().as_ref())
        .and_then(|m| m.disable_oom_killer())
        == Some(true)
}

fn read_resources(source: &Path) -> Result<LinuxResources> {
    let (name, text) = if source == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read resources from stdin")?;
        ("stdin".to_owned(), text)
    } else {
        let text = fs::read_to_string(source)
            .with_context(|| format!("read resources {}", source.display()))?;
        (source.display().to_string(), text)
    };
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "resources from {name}: line {} column {}: {e}",
            e.line(),
            e.column()
        )
    })
}

fn from_flags(args: &Update) -> LinuxResources {
    let mut resources = LinuxResources::default();
    let mut memory = LinuxMemory::default();
    let mut memory_set = false;
    if let Some(v) = args.memory {
        memory.set_limit(i64::try_from(v).ok());
        memory_set = true;
    }
    if let Some(v) = args.memory_reservation {
        memory.set_reservation(i64::try_from(v).ok());
        memory_set = true;
    }
    if let Some(v) = args.memory_swap {
        memory.set_swap(Some(v));
        memory_set = true;
    }
    if memory_set {
        resources.set_memory(Some(memory));
    }

    let mut cpu = LinuxCpu::default();
    let mut cpu_set = false;
    macro_rules! cpu_field {
        ($flag:expr, $setter:ident, $conv:expr) => {
            if let Some(v) = $flag.clone() {
                cpu.$setter(Some($conv(v)));
                cpu_set = true;
            }
        };
    }
    cpu_field!(args.cpu_share, set_shares, |v| v);
    cpu_field!(args.cpu_period, set_period, |v| v);
    cpu_field!(args.cpu_quota, set_quota, |v: u64| v as i64);
    cpu_field!(args.cpu_rt_period, set_realtime_period, |v| v);
    cpu_field!(args.cpu_rt_runtime, set_realtime_runtime, |v: u64| v as i64);
    cpu_field!(args.cpuset_cpus, set_cpus, |v| v);
    cpu_field!(args.cpuset_mems, set_mems, |v| v);
    if cpu_set {
        resources.set_cpu(Some(cpu));
    }

    if let Some(limit) = args.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        resources.set_pids(Some(pids));
    }
    if let Some(weight) = args.blkio_weight {
        let mut blkio = LinuxBlockIo::default();
        blkio.set_weight(u16::try_from(weight).ok());
        resources.set_block_io(Some(blkio));
    }
    resources
}
