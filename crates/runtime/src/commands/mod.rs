//! One file per runc verb; this module holds the dispatch and what several verbs share.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod trace;
mod update;

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use libcgroups::common::{AnyCgroupManager, CgroupConfig, create_cgroup_manager};
use libcontainer::config::YoukiConfig;
use libcontainer::container::Container;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;

use oci_spec::runtime::Spec;

use crate::bundle;
use crate::cli::{Command, GlobalOpts};
use crate::executor::RuneExecutor;

/// The OCI runtime-spec version rune-run implements.
pub const OCI_VERSION: &str = oci_spec::runtime::VERSION;

/// Runs one verb; `Ok` carries the exit code (non-zero only for `run` and `exec`, whose code is
/// the container process's).
pub fn dispatch(command: Command, global: &GlobalOpts) -> Result<u8> {
    let root = global.root.as_path();
    match command {
        Command::Create(args) => create::create(args, global).map(|()| 0),
        Command::Start(args) => start::start(&args.container_id, root).map(|()| 0),
        Command::Run(args) => run::run(args, global),
        Command::State(args) => state::state(&args.container_id, root).map(|()| 0),
        Command::Kill(args) => kill::kill(&args, root).map(|()| 0),
        Command::Delete(args) => delete::delete(&args.container_id, args.force, root).map(|()| 0),
        Command::Exec(args) => exec::exec(args, root),
        Command::Ps(args) => ps::ps(&args, root).map(|()| 0),
        Command::List(args) => list::list(&args, root).map(|()| 0),
        Command::Pause(args) => pause::pause(&args.container_id, root).map(|()| 0),
        Command::Resume(args) => pause::resume(&args.container_id, root).map(|()| 0),
        Command::Update(args) => update::update(args, root).map(|()| 0),
        Command::Events(args) => events::events(&args, root).map(|()| 0),
        Command::Features(_) => features::features().map(|()| 0),
        Command::Spec(args) => spec::spec(&args).map(|()| 0),
        Command::Trace(args) => trace::trace(&args, root, global.events_dir.as_deref()).map(|()| 0),
        Command::Hook(args) => crate::hooks::exec_with_bundle(&args.bundle, &args.command)
            .map(|()| 0)
            .map_err(Into::into),
    }
}

/// A builder with what every container-entering verb shares.
fn builder(id: &str, root: &Path, executor: RuneExecutor) -> Result<ContainerBuilder> {
    bundle::validate_id(id)?;
    ensure_root(root)?;
    Ok(ContainerBuilder::new(id.to_owned(), SyscallType::default())
        .with_executor(executor)
        .with_root_path(root)?)
}

/// The state root is private to the runtime (runc makes it 0700).
fn ensure_root(root: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .with_context(|| format!("create state root {}", root.display()))
}

fn container_dir(root: &Path, id: &str) -> Result<PathBuf> {
    bundle::validate_id(id)?;
    Ok(root.join(id))
}

/// Loads a container by id, with runc's "does not exist" message when there is none.
fn load(id: &str, root: &Path) -> Result<Container> {
    let dir = container_dir(root, id)?;
    if !dir.join("state.json").exists() {
        bail!("container {id} does not exist");
    }
    Container::load(dir).with_context(|| format!("load state of container {id}"))
}

/// A container's cgroup: where libcontainer recorded it at create, and its manager.
struct ContainerCgroup {
    path: PathBuf,
    manager: AnyCgroupManager,
}

fn cgroup(container: &Container) -> Result<ContainerCgroup> {
    let config = YoukiConfig::load(&container.root)
        .with_context(|| format!("load cgroup config of container {}", container.id()))?;
    let manager = create_cgroup_manager(CgroupConfig {
        cgroup_path: config.cgroup_path.clone(),
        systemd_cgroup: container.systemd(),
        container_name: container.id().to_owned(),
    })?;
    Ok(ContainerCgroup {
        path: config.cgroup_path,
        manager,
    })
}

/// The container's `config.json`, from the bundle the client gave.
fn spec(container: &Container) -> Result<Spec> {
    Spec::load(crate::private_bundle::client_bundle(container).join("config.json"))
        .with_context(|| format!("load config.json of container {}", container.id()))
}
