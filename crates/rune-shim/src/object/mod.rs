//! Acting on the object the caller meant, for both backends: a path is looked up the way the
//! caller's own lookup would go (its root, its cwd or dirfd, its `/proc/self`, the
//! descriptors it holds), the object found is held by an `O_PATH` descriptor, the policy
//! decides on that object's real path, and exactly that object is then reopened (or the
//! name created in exactly that directory, never through a symlink). Nothing is looked up by
//! name twice, so neither a swapped buffer nor a swapped symlink changes what was decided.

pub mod decide;
pub mod kind;
pub mod names;
pub mod open;
pub mod walk;

pub use kind::{Kind, kind};
pub use open::{Opening, Reopen, reopen};
pub use walk::{Found, Own, Whose, find};
