//! The test runner of the contract and PostgreSQL test binaries, on
//! libtest-mimic (their `[[test]]` entries say `harness = false`).
//!
//! libtest cannot decide at run time that a test did not run: a
//! `#[test]` that returns early counts as passed. This runner can: when no
//! PostgreSQL can be found ([`postgres::Availability::Missing`]), every
//! trial that needs it is marked *ignored* and a banner on stderr, before
//! and after the run, says so and how to enable them. When PostgreSQL
//! should be there but is unusable ([`postgres::Availability::Broken`]),
//! those trials run and fail with the reason. PostgreSQL is only looked
//! for (or started) when a selected trial needs it.
//!
//! Each trial runs on a fresh multi-threaded tokio runtime (two workers,
//! like the machine's cores), so servers, proxies and concurrent clients
//! of one test really run in parallel.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::StoreKind;
use crate::postgres::{self, Availability};

/// A test's body.
pub type TestFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A contract test: runs against a server on the given store.
pub type ContractTest = fn(StoreKind) -> TestFuture;

/// One trial to run.
pub struct Test {
    name: String,
    needs_postgres: bool,
    body: Box<dyn FnOnce() -> TestFuture + Send>,
}

impl Test {
    /// A trial that needs no PostgreSQL.
    pub fn new<F>(name: impl Into<String>, body: impl FnOnce() -> F + Send + 'static) -> Test
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Test {
            name: name.into(),
            needs_postgres: false,
            body: Box::new(move || Box::pin(body())),
        }
    }

    /// A trial that needs PostgreSQL: ignored when there is none.
    pub fn postgres<F>(name: impl Into<String>, body: impl FnOnce() -> F + Send + 'static) -> Test
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Test {
            needs_postgres: true,
            ..Test::new(name, body)
        }
    }

    /// A contract test on `kind`, named `<kind>::<name>`.
    pub fn contract(name: &str, kind: StoreKind, test: ContractTest) -> Test {
        let trial = Test::new(format!("{}::{name}", kind.name()), move || test(kind));
        Test {
            needs_postgres: kind == StoreKind::Postgres,
            ..trial
        }
    }
}

/// Every contract test on every store.
pub fn contract_trials(tests: &[(&str, ContractTest)]) -> Vec<Test> {
    StoreKind::ALL
        .iter()
        .flat_map(|kind| {
            tests
                .iter()
                .map(move |(name, test)| Test::contract(name, *kind, *test))
        })
        .collect()
}

/// Writes a test file's `main`: every listed `async fn name(kind:
/// StoreKind)` runs once per store (see the [crate documentation](crate)).
///
/// Tests that start no server (pure checks, such as comparing the
/// published spec with a vendor's) are listed after `once:` as plain
/// `fn name()`; each runs a single time, named just `NAME`:
///
/// ```ignore
/// login_sessions_tests::contract_tests![create_and_view; once: [spec_matches]];
/// ```
///
/// A binary that covers a dialect says so last, and then fails unless
/// every published operation of that dialect was answered 2xx by one of
/// its tests (see [`crate::coverage`]):
///
/// ```ignore
/// login_sessions_tests::contract_tests![create_and_view; covers: "native"];
/// ```
#[macro_export]
macro_rules! contract_tests {
    ($($test:ident),* $(,)?) => {
        $crate::contract_tests![$($test),*; once: []];
    };
    ($($test:ident),* $(,)?; covers: $tag:literal) => {
        $crate::contract_tests![$($test),*; once: []; covers: Some($tag)];
    };
    ($($test:ident),* $(,)?; once: [$($once:ident),* $(,)?]; covers: $tag:literal) => {
        $crate::contract_tests![$($test),*; once: [$($once),*]; covers: Some($tag)];
    };
    ($($test:ident),* $(,)?; once: [$($once:ident),* $(,)?]) => {
        $crate::contract_tests![$($test),*; once: [$($once),*]; covers: None];
    };
    ($($test:ident),* $(,)?; once: [$($once:ident),* $(,)?]; covers: $covers:expr) => {
        fn main() -> ::std::process::ExitCode {
            #[allow(unused_mut)]
            let mut tests = $crate::runner::contract_trials(&[
                $(
                    (
                        stringify!($test),
                        (|kind| ::std::boxed::Box::pin($test(kind))) as $crate::runner::ContractTest,
                    ),
                )*
            ]);
            $(
                tests.push($crate::runner::Test::new(stringify!($once), || async { $once() }));
            )*
            $crate::runner::run_covering(tests, $covers)
        }
    };
}

/// Whether libtest's filters select `name`.
fn selected(arguments: &Arguments, name: &str) -> bool {
    let matches = |filter: &str| {
        if arguments.exact {
            name == filter
        } else {
            name.contains(filter)
        }
    };
    arguments.filter.as_deref().is_none_or(matches)
        && !arguments.skip.iter().any(|skip| matches(skip))
}

/// The banner for PostgreSQL trials that do not run.
fn banner(reason: &str, count: usize, position: &str) -> String {
    let line = "=".repeat(78);
    format!(
        "\n{line}\nPostgreSQL tests are NOT running: {reason}.\n\
         {count} PostgreSQL trial(s) are reported as IGNORED {position}, not as passed.\n\
         To run them, {}.\n{line}\n",
        postgres::HOW_TO_ENABLE
    )
}

/// Runs `tests` with the command line's arguments; the exit code says
/// whether every trial that ran passed.
pub fn run(tests: Vec<Test>) -> ExitCode {
    run_covering(tests, None)
}

/// [`run`], then, when every trial was selected and passed, checks that
/// the dialect `covers` names was covered (see [`crate::coverage`]).
pub fn run_covering(tests: Vec<Test>, covers: Option<&str>) -> ExitCode {
    let arguments = Arguments::from_args();
    let everything = !arguments.list
        && arguments.filter.is_none()
        && arguments.skip.is_empty()
        && !arguments.ignored;
    let passed = run_with(&arguments, tests);
    let Some(tag) = covers.filter(|_| everything && passed) else {
        return if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    };
    let (report, missing) = crate::coverage::check(tag);
    eprintln!("\n{report}");
    if missing.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("published operations of `{tag}` no test answered with a success: {missing:?}");
        ExitCode::FAILURE
    }
}

fn run_with(arguments: &Arguments, tests: Vec<Test>) -> bool {
    let postgres_selected = tests
        .iter()
        .filter(|test| test.needs_postgres && selected(arguments, &test.name))
        .count();
    // Only looked for (and a cluster only started) when it will be used.
    let availability = (!arguments.list && postgres_selected > 0).then(postgres::availability);
    let missing = match availability {
        Some(Availability::Missing(reason)) => Some(reason.clone()),
        _ => None,
    };
    if let Some(reason) = &missing {
        eprintln!("{}", banner(reason, postgres_selected, "below"));
    }
    let trials: Vec<Trial> = tests
        .into_iter()
        .map(|test| {
            let body = test.body;
            let unavailable = match (test.needs_postgres, availability) {
                (true, Some(Availability::Missing(reason) | Availability::Broken(reason))) => {
                    Some(format!(
                        "PostgreSQL: {reason}; to run this test, {}",
                        postgres::HOW_TO_ENABLE
                    ))
                }
                _ => None,
            };
            let trial = Trial::test(test.name, move || {
                if let Some(reason) = unavailable {
                    return Err(Failed::from(reason));
                }
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|error| Failed::from(format!("a tokio runtime: {error}")))?;
                runtime.block_on(body());
                Ok(())
            });
            trial.with_ignored_flag(test.needs_postgres && missing.is_some())
        })
        .collect();
    let conclusion = libtest_mimic::run(arguments, trials);
    postgres::shutdown();
    if let Some(reason) = &missing {
        eprintln!("{}", banner(reason, postgres_selected, "above"));
    }
    !conclusion.has_failed()
}
