//! The one integration-test binary (see `harness` for the splunkd emulation).

mod app;
mod bundle;
mod cli;
mod dashboards;
mod differential;
mod evtx;
mod golden;
mod harness;
mod html;
mod hunt;
mod protocol;
mod risk;
mod serve;
mod spl;
