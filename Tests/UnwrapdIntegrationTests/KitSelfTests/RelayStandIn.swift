/// A stand-in for unwrapd in the kit's self-tests: a small Python TLS terminator that relays each connection to
/// a backend, speaks the notify protocol, and exits 0 on SIGTERM. Arguments: PEM file, `[HOST]:PORT` to listen
/// on, backend `[HOST]:PORT`. One thread per connection, blocking: fine for lockstep and one-way transfers, not
/// a model for the daemon.
enum RelayStandIn {
    /// Writes the script into `directory`; returns the arguments that start it.
    static func arguments(pem: String, frontend: String, backend: String, in directory: TestDirectory) throws
        -> [String]
    {
        [try directory.write(script, to: "relay.py"), pem, frontend, backend]
    }

    static let script = #"""
        import os, select, signal, socket, ssl, sys, threading

        def endpoint(text):
            host, port = text.rsplit(":", 1)
            return host.strip("[]"), int(port)

        pem, frontend, backend = sys.argv[1], endpoint(sys.argv[2]), endpoint(sys.argv[3])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(pem)
        listener = socket.socket(socket.AF_INET6 if ":" in frontend[0] else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(frontend)
        listener.listen(64)

        def relay(connection):
            try:
                tls = context.wrap_socket(connection, server_side=True)
            except (ssl.SSLError, OSError) as error:
                print("handshake failed: %s" % error, file=sys.stderr, flush=True)
                connection.close()
                return
            upstream = socket.create_connection(backend)
            client_open = backend_open = True
            while client_open or backend_open:
                watched = [s for s, is_open in ((tls, client_open), (upstream, backend_open)) if is_open]
                ready = [tls] if client_open and tls.pending() else select.select(watched, [], [])[0]
                if tls in ready:
                    data = tls.recv(65536)
                    if data:
                        upstream.sendall(data)
                    else:
                        client_open = False
                        upstream.shutdown(socket.SHUT_WR)
                if upstream in ready:
                    data = upstream.recv(65536)
                    if data:
                        tls.sendall(data)
                    else:
                        backend_open = False
                        tls.unwrap() if client_open else tls._sslobj.shutdown()
            upstream.close()
            connection.close()

        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        notifier = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notifier.sendto(b"READY=1\nSTATUS=relaying", os.environ["NOTIFY_SOCKET"])
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=relay, args=(connection,), daemon=True).start()
        """#
}
