//! Allocator settings for the interpreter's large tensors (glibc on Linux).
//!
//! A model run allocates and frees tensors of megabytes, node after node. glibc serves those
//! with fresh `mmap`s and hands freed heap tops back to the system, so every tensor costs
//! page faults again: for GPT-2 small the check spent 3.3 s of system time in them. Keeping
//! blocks up to 32 MB (glibc's largest mmap threshold) in the heap and never trimming it lets
//! freed tensors be reused: system time falls to about 1.7 s, at the price of holding the
//! peak heap until the process ends.

/// Keeps freed memory for reuse (see the module documentation); does nothing on other
/// platforms. Call once at the start of a process that runs the interpreter.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocation policy; it may be called at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
