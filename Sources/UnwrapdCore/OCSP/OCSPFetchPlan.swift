import COpenSSL
import CUnwrapdShims
import Glibc

/// The certificates of a configuration whose OCSP responses are fetched while it runs: those with a responder URL
/// and no `ocsp-resp-file`, each once however many frontends serve it, when `ocsp-dir` is not "" (hitch's default:
/// fetch). Made by the parent with the configuration: one shared slot per certificate, mapped before the workers
/// and the fetcher are forked, filled with the running configuration's response on a reload, else with the one
/// saved in `ocsp-dir`, when it is still current and for this very certificate.
struct OCSPFetchPlan {
    let subscriptions: [OCSPSubscription]
    private let region: UnsafeMutableRawPointer?
    private let regionSize: Int

    /// No fetching.
    static var none: OCSPFetchPlan { OCSPFetchPlan(subscriptions: [], region: nil, regionSize: 0) }

    static func make(
        frontends: [PreparedFrontend], options: OCSPOptions, previous: OCSPFetchPlan?
    ) throws(StartupError) -> OCSPFetchPlan {
        var candidates: [(path: String, url: OCSPResponderURL, contexts: [ServerContext], verify: Bool)] = []
        var seen: Set<String> = []
        for context in frontends.flatMap(\.tls.pointee.contexts) where context.source.ocspResponsePath == nil {
            let path = context.source.path
            if let index = candidates.firstIndex(where: { $0.path == path }) {
                candidates[index].contexts.append(context)
                continue
            }
            guard seen.insert(path).inserted else { continue }
            guard !options.directory.isEmpty, let url = responderURL(of: context) else {
                warnIfMustStaple(context, fetching: !options.directory.isEmpty)
                continue
            }
            let verify = context.source.verifiesStaples(global: options.verifyStaple)
            candidates.append((path, url, [context], verify))
        }
        guard !candidates.isEmpty else { return .none }
        let stride = MemoryLayout<unwrapd_ocsp_slot>.stride
        let size = stride * candidates.count
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let region = mapped, region != MAP_FAILED else {
            throw .system(SystemError("mmap", "\(size) bytes for fetched OCSP responses"))
        }
        var subscriptions: [OCSPSubscription] = []
        for (index, candidate) in candidates.enumerated() {
            let slot = (region + index * stride).bindMemory(to: unwrapd_ocsp_slot.self, capacity: 1)
            for context in candidate.contexts { OCSPSubscription.install(slot, in: context.handle) }
            let subscription = OCSPSubscription(
                certificatePath: candidate.path, url: candidate.url, context: candidate.contexts[0].handle, slot: slot,
                verify: candidate.verify,
                cacheFile: OCSPCacheFile.path(in: options.directory, for: candidate.path))
            if !carryOver(into: subscription, from: previous) { loadSaved(into: subscription) }
            subscriptions.append(subscription)
        }
        return OCSPFetchPlan(subscriptions: subscriptions, region: region, regionSize: size)
    }

    /// Unmaps the slots in this process (the parent, once a reload replaced the configuration); the workers and the
    /// fetcher of that configuration keep their own mappings until they exit.
    func release() {
        if let region { munmap(region, regionSize) }
    }

    /// One line when `context`'s certificate demands a stapled response (the TLS feature extension, "OCSP
    /// Must-Staple", RFC 7633) that unwrapd has no way to staple: browsers that honour it refuse the connection.
    private static func warnIfMustStaple(_ context: ServerContext, fetching: Bool) {
        guard let certificate = SSL_CTX_get0_certificate(context.handle),
            X509_get_ext_by_NID(certificate, NID_tlsfeature, -1) >= 0
        else { return }
        let why = fetching ? "it names no OCSP responder unwrapd can ask" : "ocsp-dir = \"\" turns fetching off"
        Log.error(
            "pem-file \(context.source.path): the certificate demands a stapled OCSP response (\"OCSP Must-Staple\") "
                + "and unwrapd has none to staple (no ocsp-resp-file, and \(why)): clients that honour it refuse "
                + "the connection")
    }

    /// The certificate's responder, or nil (logged when the certificate names one unwrapd cannot ask).
    private static func responderURL(of context: ServerContext) -> OCSPResponderURL? {
        guard let certificate = SSL_CTX_get0_certificate(context.handle) else { return nil }
        var buffer = [CChar](repeating: 0, count: 2048)
        guard unwrapd_X509_ocsp_url(certificate, &buffer, buffer.count) == 1 else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let origin = "pem-file \(context.source.path)"
        do {
            let url = try OCSPResponderURL(parsing: text)
            if OCSPStaple.issuer(of: certificate, in: unwrapd_SSL_CTX_get0_chain_certs(context.handle)) == nil {
                Log.error(
                    "\(origin): its OCSP responder is not asked: the file holds no certificate that issued its own, "
                        + "which the request names (add the chain)")
                return nil
            }
            return url
        } catch {
            Log.error("\(origin): its OCSP responder is not asked: \(error)")
            return nil
        }
    }

    /// On a reload: the running configuration's response for the same PEM file, when it is for the certificate
    /// the file holds now (not one renewed since); the new fetcher then keeps to its schedule. False when there is
    /// none to carry over.
    private static func carryOver(into subscription: OCSPSubscription, from previous: OCSPFetchPlan?) -> Bool {
        guard let old = previous?.subscriptions.first(where: { $0.certificatePath == subscription.certificatePath }),
            let response = old.response
        else { return false }
        let origin = "pem-file \(subscription.certificatePath): the OCSP response of the configuration replaced"
        guard let status = usableStatus(of: response, for: subscription, origin: origin) else { return false }
        subscription.publish(
            response, nextUpdate: status.nextUpdate, fetchedAt: Int(unwrapd_ocsp_slot_fetched_at(old.slot)))
        return true
    }

    /// Staples the response saved in `ocsp-dir` until the fetcher has a new one, when it is for this certificate
    /// and still current; says why not when it is there but unusable.
    private static func loadSaved(into subscription: OCSPSubscription) {
        guard let bytes = try? readFile(subscription.cacheFile) else { return }
        let origin = "pem-file \(subscription.certificatePath): saved OCSP response \(subscription.cacheFile)"
        guard let status = usableStatus(of: bytes, for: subscription, origin: origin) else { return }
        subscription.publish(bytes, nextUpdate: status.nextUpdate, fetchedAt: 0)
        Log.info("\(origin): stapled (\(status.text)) until a new one is fetched")
    }

    /// The status `response` gives the certificate, when it checks out and is current; otherwise nil, and one
    /// line that says why (information only: the fetcher asks for a new one at once).
    private static func usableStatus(
        of response: [UInt8], for subscription: OCSPSubscription, origin: String
    ) -> OCSPCertificateStatus? {
        do {
            let status = try OCSPStaple.check(
                response, for: subscription.context, certificatePath: subscription.certificatePath, origin: origin,
                verify: subscription.verify)
            if let nextUpdate = status.nextUpdate, nextUpdate <= time(nil) {
                Log.info("\(origin): expired at \(utcText(nextUpdate)); not stapled until a new one is fetched")
                return nil
            }
            guard response.count <= OCSPHTTPExchange.largestBody else {
                throw StartupError.invalid("\(origin): \(OCSPFetchError.responseTooLarge(response.count))")
            }
            return status
        } catch {
            Log.info("\(error); fetching a new one")
            return nil
        }
    }
}
