import Glibc

/// `pem-dir` and `pem-dir-glob`: the regular files of a directory whose names match the glob, in lexicographic
/// order, as global certificates.
enum PEMDirectory {
    static func certificates(in directory: String, matching glob: String?) throws(StartupError) -> [CertificateSource] {
        guard let stream = opendir(directory) else { throw .system(SystemError("pem-dir: opendir", directory)) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            if let glob, fnmatch(glob, name, 0) != 0 { continue }
            var status = stat()
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            names.append(path)
        }
        return names.sorted().map { CertificateSource(path: $0) }
    }
}
