import COpenSSL
import CUnwrapdShims
import Glibc

/// Where the fetched OCSP response of a certificate is kept across restarts: in `ocsp-dir`, named as hitch names it
/// (the MD5 of the certificate's path as configured, in hex), so a directory hitch filled serves unwrapd too.
enum OCSPCacheFile {
    /// The file for the certificate at `certificatePath` in `directory`; a relative `directory` is taken from the
    /// current one, which is where unwrapd started as the configuration is prepared (the fetcher, forked after
    /// `--daemon` moved to `/`, gets the absolute path).
    static func path(in directory: String, for certificatePath: String) -> String {
        let directory = AbsolutePath.of(directory)
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let bytes = Array(certificatePath.utf8)
        _ = EVP_Digest(bytes, bytes.count, &digest, &length, EVP_md5(), nil)
        let name = digest.prefix(Int(length)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Replaces the file at `path` with `bytes`: written beside it, then renamed over it, so that a reader never
    /// sees half a response.
    static func save(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let temporary = "\(path).\(getpid()).new"
        let descriptor = unwrapd_open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw SystemError("open", temporary) }
        guard bytes.withUnsafeBytes({ writeFully(descriptor, $0) }) else {
            let failure = SystemError("write", temporary)
            close(descriptor)
            unlink(temporary)
            throw failure
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let failure = SystemError("rename", "\(temporary) to \(path)")
            unlink(temporary)
            throw failure
        }
    }
}

extension OCSPCacheFile {
    /// Creates `ocsp-dir` when it does not exist (mode 0750, owned by the workers' user, who runs the fetcher that
    /// writes into it), as hitch's package creates /var/lib/hitch. A directory that cannot be made is logged: the
    /// responses are still fetched and stapled, only not kept for the next start.
    static func prepareDirectory(_ path: String, owner: WorkerIdentity?) {
        let path = AbsolutePath.of(path)
        var status = stat()
        guard stat(path, &status) != 0, errno == ENOENT else { return }
        guard mkdir(path, 0o750) == 0 else {
            Log.error("ocsp-dir: \(SystemError("mkdir", path)); fetched OCSP responses are not kept for the next start")
            return
        }
        if let owner, chown(path, owner.userID, owner.groupID) != 0 {
            Log.error("ocsp-dir: \(SystemError("chown", "\(path) to \(owner.name)"))")
        }
    }
}
