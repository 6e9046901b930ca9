//! The `login-sessions` binary: see `cli` for its commands.

use std::process::ExitCode;

/// The allocator. The session cache holds a million allocations of
/// different sizes, and with the system allocator (glibc) a lookup at a
/// million sessions spent about a quarter of the server's CPU inside
/// `malloc` and `free`, most of it walking free lists
/// (`unlink_chunk`, `malloc_consolidate`) fragmented by the cache's
/// entries. mimalloc's size-segregated pages do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before any other thread exists: see its SAFETY note.
    use_large_pages();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(login_sessions_server::cli::main()),
        Err(error) => {
            eprintln!("error: starting the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Asks mimalloc to back its memory with 2 MiB pages (transparent huge
/// pages, `madvise`d, which Linux's default THP setting waits for), unless
/// `MIMALLOC_ALLOW_LARGE_OS_PAGES` says otherwise.
///
/// A session lookup reads a few cache lines scattered over the session
/// cache's few hundred MiB; with 4 KiB pages nearly each of them also
/// misses the TLB, and a page walk is dearest in a virtual machine. At
/// 1,000,000 sessions this took 1–3 µs of server CPU off each lookup
/// (21 against 22–24 µs for Looker `user_session`, same data, one run
/// after the other) with the same peak RSS (359 MiB). See
/// docs/benchmark.md.
///
/// mimalloc reads its options from the environment before `main`, so an
/// operator's `MIMALLOC_ALLOW_LARGE_OS_PAGES=0` (or its older name,
/// `MIMALLOC_LARGE_OS_PAGES`) is left as they set it. The option applies
/// to memory mimalloc maps from then on, which is all of it but the
/// little taken before `main`.
fn use_large_pages() {
    let chosen = ["MIMALLOC_ALLOW_LARGE_OS_PAGES", "MIMALLOC_LARGE_OS_PAGES"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if !chosen {
        // SAFETY: `mi_option_set` stores an integer in mimalloc's option
        // table and takes no pointer. It is called while this is the
        // only thread, so no other reads the option as it is written.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(libmimalloc_sys::mi_option_large_os_pages, 1);
        }
    }
}
