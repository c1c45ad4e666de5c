//! The process's limit on open files (RLIMIT_NOFILE). The central holds a sync
//! connection from every table of the election office and the benchmarks hold
//! thousands of sockets, far beyond the soft limit of 1,024 that many systems start a
//! process with. systemd's `LimitNOFILE=` sets both limits for the services; anywhere
//! else the soft limit can be raised to the hard one without privileges, and only root
//! may raise the hard one.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// The limits in force; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

pub fn current() -> Limits {
    let l = getrlimit(Resource::Nofile);
    Limits {
        soft: l.current,
        hard: l.maximum,
    }
}

/// Raises the soft limit to the hard one, which any process may do, and returns the
/// limits in force afterwards (unchanged if the kernel refused).
pub fn raise_to_hard() -> Limits {
    let now = current();
    if now.soft != now.hard {
        let raised = Rlimit {
            current: now.hard,
            maximum: now.hard,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, soft = ?now.soft, "cannot raise the open-files limit to its hard limit");
        }
    }
    current()
}

/// At least `need` open files: the soft limit raised to the hard one, and the hard one
/// raised to `need` when it is lower (only root may). The error says what to do.
pub fn at_least(need: u64) -> Result<Limits, String> {
    let now = raise_to_hard();
    if now.soft.is_none_or(|s| s >= need) {
        return Ok(now);
    }
    let raised = Rlimit {
        current: Some(need),
        maximum: Some(need),
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Ok(current()),
        Err(e) => Err(format!(
            "{need} open files are needed, the hard limit is {}: raising it was refused ({e}); run as root or raise it (ulimit -Hn, LimitNOFILE=)",
            now.hard.map_or("unlimited".to_string(), |h| h.to_string())
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_rises_to_the_hard_one() {
        let after = super::raise_to_hard();
        assert_eq!(after.soft, after.hard);
        // Asking for no more than is in force changes nothing.
        assert_eq!(super::at_least(16), Ok(after));
    }
}
