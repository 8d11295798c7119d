# liblsq for C users: `make`, `make install PREFIX=/usr/local`, `make uninstall`.
# Everything is built by cargo; this file only names the steps and installs
# the results like any C library (soname, links, header, pkg-config).

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
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

.PHONY: all release header test demo install uninstall clean check-header

all: release

release:
	$(CARGO) build --release -p lsq -p lsq-emulator
	# A program linked against the build tree asks the loader for the soname.
	ln -sf liblsq.so $(RELEASE)/liblsq.so.$(SOVERSION)

# Regenerate include/lsq.h from src/ffi with the pinned cbindgen.
header:
	LSQ_BLESS=1 $(CARGO) test --test header

check-header:
	$(CARGO) test --test header

test:
	$(CARGO) test --workspace

demo:
	./examples-c/demo.sh

install: release
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 755 $(RELEASE)/liblsq.so $(DESTDIR)$(LIBDIR)/liblsq.so.$(VERSION)
	$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/liblsq.so.$(VERSION)
	ln -sf liblsq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liblsq.so.$(SOVERSION)
	ln -sf liblsq.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/liblsq.so
	$(INSTALL) -m 644 $(RELEASE)/liblsq.a $(DESTDIR)$(LIBDIR)/liblsq.a
	$(STRIP) --strip-debug $(DESTDIR)$(LIBDIR)/liblsq.a
	$(INSTALL) -m 644 include/lsq.h $(DESTDIR)$(INCLUDEDIR)/lsq.h
	# lsq.pc names this PREFIX: generated at each install, never cached.
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' lsq.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/lsq.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/lsq.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/liblsq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liblsq.so.$(SOVERSION) \
	      $(DESTDIR)$(LIBDIR)/liblsq.so $(DESTDIR)$(LIBDIR)/liblsq.a \
	      $(DESTDIR)$(INCLUDEDIR)/lsq.h $(DESTDIR)$(PKGCONFIGDIR)/lsq.pc

clean:
	$(CARGO) clean
