//! Helpers shared by the process and manifest tests: [`process`] runs the real binaries,
//! [`kube`] renders the Kubernetes manifests,
//! [`http2`] speaks raw HTTP/2 frames.
//!
//! Every test file compiles this whole module and uses a part of it, hence the `dead_code`
//! allowances on the submodules.

#[allow(dead_code)]
pub(crate) mod http2;
#[allow(dead_code)]
pub(crate) mod kube;
#[allow(dead_code)]
pub(crate) mod process;
