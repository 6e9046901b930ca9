//! Several replicas over one database.

use login_sessions_tests::runner::Test;

pub fn trials() -> Vec<Test> {
    Vec::new()
}
