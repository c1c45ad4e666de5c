//! After the election: `valgbord export` writes one self-describing bundle per device
//! (its election package, the signed voter list, the list changes, the whole event log
//! and its closing report), and `valgbord audit` checks a set of bundles offline with
//! only the election office's public key: every signature, chain and role, forks and
//! gaps, and the closing reports replayed from the logs by the code that made them;
//! its report in Danish as text or PDF (with a turnout chart per place), or JSON.

pub mod bundle;
pub mod central;
pub mod chart;
pub mod check;
pub mod export;
pub mod figures;
pub mod finding;
pub mod logs;
pub mod pdf;
pub mod replay;
pub mod text;
pub mod trust;
