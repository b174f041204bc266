/// mimalloc: glibc's allocator took a fifth of the manager's CPU time serving lists (their
/// responses are thousands of small allocations).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its default keeps freed memory for 10 ms, which under
/// load kept tens of MiB resident; returning it at once costs no measurable throughput).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // SAFETY: sets a process-wide allocator option before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    bai_manager::cli::main()
}
