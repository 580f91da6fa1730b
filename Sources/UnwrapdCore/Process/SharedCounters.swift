import CUnwrapdShims
import Glibc

/// The counters all workers share (the open connections, for the global cap), in one anonymous
/// shared mapping created by the parent before the first fork and inherited by every worker.
enum SharedCounters {
    static func map() throws(StartupError) -> UnsafeMutablePointer<unwrapd_shared_counters> {
        let size = MemoryLayout<unwrapd_shared_counters>.size
        guard let region = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
            region != MAP_FAILED
        else { throw .system(SystemError("mmap shared counters")) }
        let counters = region.bindMemory(to: unwrapd_shared_counters.self, capacity: 1)
        counters.initialize(to: unwrapd_shared_counters())
        return counters
    }
}
