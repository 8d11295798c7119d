# liblsq for C users: `make`, `make install PREFIX=/usr/local`, `make uninstall`;
# `make install-emulator` adds the LeadSquared emulator (for tests and demos).
# Everything is built by cargo; this file only names the steps and installs
# the results like any C library (soname, links, header, pkg-config).

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
BINDIR     ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=
CARGO      ?= cargo
INSTALL    ?= install
STRIP      ?= strip

VERSION   := 0.1.0
SOVERSION := 0
RELEASE   := target/release
# What a program linking liblsq.a statically also needs (rustc --print native-static-libs).
LIBS_PRIVATE := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# Every cargo build of this file names the same packages: cargo unifies the
# features of shared dependencies over the packages of one build, so building
# lsq-outbox alone (or lsq alone) would compile liblsq with other features and
# the next build would compile it back (found with `cargo build -v`).
PACKAGES := -p lsq -p lsq-emulator -p lsq-outbox
# A library outside the loader's default paths is found through an rpath that
# lsq.pc gives every program linked with `pkg-config --libs lsq`; none for the
# system's own library directories (those need only `ldconfig`).
comma := ,
SYSTEM_LIBDIRS := /lib /lib64 /usr/lib /usr/lib64 /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu
RPATH ?= $(if $(filter $(SYSTEM_LIBDIRS),$(LIBDIR)),,-Wl$(comma)-rpath$(comma)$(LIBDIR))

.PHONY: all release header test demo install install-emulator uninstall clean check-header

all: release

release:
	$(CARGO) build --release $(PACKAGES)
	# A program linked against the build tree asks the loader for the soname.
	ln -sf liblsq.so $(RELEASE)/liblsq.so.$(SOVERSION)

# Regenerate include/lsq.h from src/ffi with the pinned cbindgen.
header:
	LSQ_BLESS=1 $(CARGO) test --test header

check-header:
	$(CARGO) test --test header

test:
	$(CARGO) test --workspace --all-features

demo:
	./examples-c/demo.sh

install: release
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 755 $(RELEASE)/liblsq.so $(DESTDIR)$(LIBDIR)/liblsq.so.$(VERSION)
	$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/liblsq.so.$(VERSION)
	ln -sf liblsq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liblsq.so.$(SOVERSION)
	ln -sf liblsq.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/liblsq.so
	$(INSTALL) -m 644 $(RELEASE)/liblsq.a $(DESTDIR)$(LIBDIR)/liblsq.a
	$(STRIP) --strip-debug $(DESTDIR)$(LIBDIR)/liblsq.a
	$(INSTALL) -m 755 $(RELEASE)/lsq-outbox $(DESTDIR)$(BINDIR)/lsq-outbox
	$(STRIP) $(DESTDIR)$(BINDIR)/lsq-outbox
	$(INSTALL) -m 644 include/lsq.h $(DESTDIR)$(INCLUDEDIR)/lsq.h
	# lsq.pc names this PREFIX: generated at each install, never cached.
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' -e 's|@RPATH@|$(RPATH)|g' lsq.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/lsq.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/lsq.pc

# The emulator, optional: a LeadSquared stand-in for tests and demos, never needed in production.
install-emulator: release
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 755 $(RELEASE)/lsq-emulator $(DESTDIR)$(BINDIR)/lsq-emulator
	$(STRIP) $(DESTDIR)$(BINDIR)/lsq-emulator

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/liblsq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liblsq.so.$(SOVERSION) \
	      $(DESTDIR)$(LIBDIR)/liblsq.so $(DESTDIR)$(LIBDIR)/liblsq.a \
	      $(DESTDIR)$(INCLUDEDIR)/lsq.h $(DESTDIR)$(PKGCONFIGDIR)/lsq.pc \
	      $(DESTDIR)$(BINDIR)/lsq-outbox $(DESTDIR)$(BINDIR)/lsq-emulator

clean:
	$(CARGO) clean
