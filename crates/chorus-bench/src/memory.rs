//! Resident memory of a process, read from `/proc/<pid>/status` (`VmRSS`).

pub fn rss_mib(pid: u32) -> f64 {
    chorus_testkit::plugins::process_memory_bytes(pid, "VmRSS")
        .map_or(0.0, |bytes| bytes as f64 / (1024.0 * 1024.0))
}
