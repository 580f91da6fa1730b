# unwrapd — build, run, test, install. `make run` and `make test` install what is missing on Debian first.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR    ?=
SWIFT      ?= swift
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# System packages the build and the tests need (Debian names).
DEB_PACKAGES := libssl-dev libev-dev openssl curl pkg-config python3 gcc libc6-dev
RELEASE_FLAGS := -c release --static-swift-stdlib
RELEASE_BIN = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/unwrapd
DEV_DIR    := .build/dev

.PHONY: all deps build release run test install uninstall lint clean bench bench-deps

# `make bench`: unwrapd vs hitch side by side (Tests/Benchmarks/README.md). Options through BENCH_ARGS, e.g.
# make bench BENCH_ARGS='--quick --scenarios hs-ecdsa,keepalive'
BENCH_DEB_PACKAGES := hitch wrk util-linux linux-perf
BENCH_DIR   := Tests/Benchmarks
BENCH_BUILD := .build-bench
BENCH_ARGS  ?=

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$missing"; \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

# Starts the daemon in the foreground on [*]:8443 in front of [127.0.0.1]:8000 with a self-signed development
# certificate (created once under .build/dev/). Ctrl-C stops it.
run: release
	@mkdir -p $(DEV_DIR)
	@if [ ! -f $(DEV_DIR)/localhost.pem ]; then \
	    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
	        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
	        -keyout $(DEV_DIR)/localhost.key -out $(DEV_DIR)/localhost.crt 2>/dev/null && \
	    cat $(DEV_DIR)/localhost.key $(DEV_DIR)/localhost.crt > $(DEV_DIR)/localhost.pem && \
	    rm -f $(DEV_DIR)/localhost.key; \
	fi
	@echo "unwrapd: development certificate $(CURDIR)/$(DEV_DIR)/localhost.pem (self-signed, CN=localhost)"
	@echo "unwrapd: listening on [*]:8443, backend [127.0.0.1]:8000 (start one, e.g. python3 -m http.server 8000)"
	@echo "unwrapd: try  curl -k https://localhost:8443/"
	$(RELEASE_BIN) --config=Config/unwrapd.conf --log-level=2 $(DEV_DIR)/localhost.pem

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s $(BENCH_DIR) -p 'test_*.py'

install: release
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(SYSCONFDIR)/unwrapd $(DESTDIR)/lib/systemd/system
	install -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/sbin/unwrapd
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/unwrapd/unwrapd.conf ]; then \
	    echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/unwrapd/unwrapd.conf"; \
	else install -m 0644 Config/unwrapd.conf $(DESTDIR)$(SYSCONFDIR)/unwrapd/unwrapd.conf; fi
	install -m 0644 Config/unwrapd.service $(DESTDIR)/lib/systemd/system/unwrapd.service
	install -m 0644 Config/unwrapd.socket $(DESTDIR)/lib/systemd/system/unwrapd.socket

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/unwrapd $(DESTDIR)/lib/systemd/system/unwrapd.service \
	    $(DESTDIR)/lib/systemd/system/unwrapd.socket

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

clean:
	rm -rf .build .build-*

# Installs what the benchmark needs (and the build's packages) with at most one apt-get update.
bench-deps:
	@missing=""; for p in $(DEB_PACKAGES) $(BENCH_DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	    echo "make bench: installing$$missing"; \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	fi

bench: bench-deps release
	@mkdir -p $(BENCH_BUILD)
	$(CC) -O2 -Wall -Wextra -o $(BENCH_BUILD)/tlsload $(BENCH_DIR)/loadgen/tlsload/*.c -lssl -lcrypto
	$(CC) -O2 -Wall -Wextra -o $(BENCH_BUILD)/sslfloor $(BENCH_DIR)/loadgen/sslfloor/*.c -lssl -lcrypto
	$(SUDO) python3 $(BENCH_DIR)/run.py --unwrapd "$(RELEASE_BIN)" --tlsload $(BENCH_BUILD)/tlsload \
	    --sslfloor $(BENCH_BUILD)/sslfloor $(BENCH_ARGS)
