use std::time::Duration;

/// mimalloc: glibc's allocator took a fifth of the manager's CPU time serving lists (their
/// responses are thousands of small allocations). Built without transparent huge pages
/// (`no_thp`): partly used 2 MiB pages kept a third more memory resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How often freed memory is handed back to the system. mimalloc returns memory some
/// milliseconds after it is freed, but only when the allocator is next used, so after a burst
/// tens of MiB stayed resident while idle; returning it at every free instead (purge delay 0)
/// cost a sixth of the throughput of lists (page faults on the next request's allocations).
const RETURN_FREED_MEMORY_EVERY: Duration = Duration::from_secs(1);

fn main() -> std::process::ExitCode {
    let returner = std::thread::Builder::new()
        .name("return-freed-memory".into())
        .spawn(|| loop {
            std::thread::sleep(RETURN_FREED_MEMORY_EVERY);
            // SAFETY: mi_collect may be called from any thread at any time.
            unsafe { libmimalloc_sys::mi_collect(true) };
        });
    if let Err(e) = returner {
        eprintln!("warning: freed memory will stay resident (no thread to return it: {e})");
    }
    bai_manager::cli::main()
}
