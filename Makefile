# Loopback device driver system: build on Linux with mingw-w64 + clang, run under Wine.
# `make demo` and `make test` do everything on a fresh Debian machine (see README.md).

BUILD      ?= build
MINGW_ROOT ?= /usr/x86_64-w64-mingw32
DDK_INC    ?= /usr/share/mingw-w64/include/ddk

CLANG_WIN  := clang --target=x86_64-w64-windows-gnu
MINGW_CC   := x86_64-w64-mingw32-gcc
HOST_CC    ?= clang

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
# The DDK headers use unnamed unions, MS extensions and multi-character constants of their own.
DRIVER_COMMON_CFLAGS := -O2 -std=gnu11 -fms-extensions -fno-stack-protector -ffreestanding -fno-builtin \
                 -funwind-tables -DNTDDI_VERSION=0x0A000000 -D_WIN32_WINNT=0x0A00 \
                 $(WARN) -Wno-microsoft-anon-tag -Wno-language-extension-token \
                 -Wno-unknown-pragmas -Wno-pragma-pack
# make CHECKED=1: a DBG build, whose assertions (IRQL where user memory is touched) are live.
ifdef CHECKED
DRIVER_COMMON_CFLAGS += -DDBG=1
endif
DRIVER_CFLAGS := $(DRIVER_COMMON_CFLAGS) -isystem $(DDK_INC) -D_AMD64_
DRIVER_LDFLAGS := -nostdlib -shared -fuse-ld=lld -Wl,--subsystem,native -Wl,--entry,DriverEntry \
                  -Wl,--exclude-all-symbols -Wl,--image-base,0x140000000
DRIVER_LIBS := -lntoskrnl -lhal

CORE_SRC   := $(wildcard core/*.c)
DRIVER_SRC := $(wildcard windows/driver/*.c)
DRIVER_HDR := $(wildcard windows/driver/*.h core/*.h) include/lbk_ioctl.h

DRIVER     := $(BUILD)/windows/lbk.sys
ARM64_DRIVER := $(BUILD)/windows/arm64/lbk.sys

.PHONY: all driver setup demo test lint fuzz stress bench sign package clean
all: driver

setup:
	scripts/setup.sh

demo: setup
	$(MAKE) all
	scripts/demo.sh $(BUILD)

test: setup
	$(MAKE) all
	scripts/test.sh $(BUILD)

# clang-tidy, cppcheck and the second compiler of each pair (make test runs it too).
lint: setup
	scripts/lint.sh $(BUILD)

# The long stress run: 256 MiB per I/O method, 40000-request cancellation storms, 300 cycles.
stress: setup
	$(MAKE) all
	scripts/stress.sh $(BUILD) long 2>&1 | tee $(BUILD)/stress-long.log

# The benchmarks: build/bench/results.json, results.md and PNG plots (docs/performance.md).
bench: setup
	$(MAKE) all
	scripts/bench.sh $(BUILD) full

# The long fuzzing run: every target at once for FUZZ_SECONDS (make test runs 60 s each).
FUZZ_SECONDS ?= 600
fuzz: setup
	scripts/fuzz.sh $(BUILD) $(FUZZ_SECONDS)

clean:
	-[ -d $(BUILD)/wineprefix ] && WINEPREFIX=$(abspath $(BUILD))/wineprefix wineserver -k 2>/dev/null; true
	rm -rf $(BUILD)

driver: $(DRIVER) $(ARM64_DRIVER)

PE_CHECKSUM := $(BUILD)/tools/pe_checksum

$(PE_CHECKSUM): tools/pe_checksum.c
	@mkdir -p $(dir $@)
	$(HOST_CC) -O2 -std=c11 $(WARN) -o $@ $<

# Windows checks an image's checksum, which lld leaves 0: set it, then check the whole image.
$(DRIVER): $(DRIVER_SRC) $(CORE_SRC) $(DRIVER_HDR) $(IMPORT_LISTS) scripts/check-driver-image.sh $(PE_CHECKSUM) Makefile
	@mkdir -p $(dir $@)
	$(CLANG_WIN) $(DRIVER_CFLAGS) $(DRIVER_LDFLAGS) -o $@.tmp $(DRIVER_SRC) $(CORE_SRC) $(DRIVER_LIBS)
	$(PE_CHECKSUM) set $@.tmp >/dev/null
	scripts/check-driver-image.sh $@.tmp $(PE_CHECKSUM) x64
	mv $@.tmp $@

# ---- The ARM64 image: the same sources, clang for aarch64-w64-windows-gnu (docs/driver.md) ----
# mingw-w64's wdm.h and ntddk.h know no ARM64: in copies of them the ARM branch also takes
# __aarch64__ and includes the project's windows/driver/arm64/armddk.h, and wdm.h's
# `!defined(_AMD64_) && !defined(_IA64_)` (32-bit layouts: IO_STACK_LOCATION packed to 4 bytes, the
# lookaside lists' old locks) leaves out _ARM64_ too, as the WDK's does; its `defined(_AMD64_)`
# parts stay x64's. scripts/check-arm64-layouts.sh then compares every structure the driver uses,
# as laid out for each architecture. The import libraries are made from the
# project's own lists of what the driver imports (windows/driver/imports/), which the image check
# holds both images to.
ARM64_CLANG := clang --target=aarch64-w64-windows-gnu
ARM64_DDK   := $(BUILD)/arm64/ddk
ARM64_LIB   := $(BUILD)/arm64/lib
ARM64_CFLAGS := $(DRIVER_COMMON_CFLAGS) -isystem $(ARM64_DDK) -isystem windows/driver/arm64 \
                -isystem $(DDK_INC) -isystem /usr/share/mingw-w64/include -D_ARM64_
IMPORT_LISTS := windows/driver/imports/ntoskrnl.def windows/driver/imports/hal.def

$(ARM64_DDK)/%.h: $(DDK_INC)/%.h Makefile
	@mkdir -p $(dir $@)
	sed -e 's/^#elif defined(_M_ARM)$$/#elif defined(_M_ARM) || defined(__aarch64__)/' \
	    $(if $(filter wdm.h,$(notdir $@)),-e 's/!defined(_AMD64_) && !defined(_IA64_)/!defined(_AMD64_) \&\& !defined(_ARM64_) \&\& !defined(_IA64_)/') $< >$@

$(ARM64_LIB)/lib%.a: windows/driver/imports/%.def
	@mkdir -p $(dir $@)
	llvm-dlltool -m arm64 -d $< -l $@

$(ARM64_DRIVER): $(DRIVER_SRC) $(CORE_SRC) $(DRIVER_HDR) $(IMPORT_LISTS) windows/driver/arm64/armddk.h \
                 $(ARM64_DDK)/wdm.h $(ARM64_DDK)/ntddk.h $(ARM64_LIB)/libntoskrnl.a \
                 $(ARM64_LIB)/libhal.a scripts/check-driver-image.sh scripts/check-arm64-layouts.sh \
                 $(PE_CHECKSUM) Makefile
	@mkdir -p $(dir $@)
	scripts/check-arm64-layouts.sh $(BUILD) "$(CLANG_WIN) $(DRIVER_CFLAGS)" "$(ARM64_CLANG) $(ARM64_CFLAGS)" $(DRIVER_SRC)
	$(ARM64_CLANG) $(ARM64_CFLAGS) $(DRIVER_LDFLAGS) -o $@.tmp $(DRIVER_SRC) $(CORE_SRC) -L$(ARM64_LIB) $(DRIVER_LIBS)
	$(PE_CHECKSUM) set $@.tmp >/dev/null
	scripts/check-driver-image.sh $@.tmp $(PE_CHECKSUM) arm64
	mv $@.tmp $@

# The ARM64 driver's client under Debian's arm64 Wine (scripts/test-wine-arm64.sh): freestanding,
# kernel32 only, as Debian has no aarch64 mingw-w64 runtime.
ARM64_SMOKE := $(BUILD)/windows/arm64/smoke.exe
all: $(ARM64_SMOKE)

# Import libraries for the ARM64 programs, from the lists of what they call (tests/windows/arm64/*.def).
ARM64_USER := $(BUILD)/arm64/user
ARM64_USER_DLLS := kernel32 msvcrt advapi32 setupapi newdev user32

$(ARM64_USER)/lib%.a: tests/windows/arm64/%.def
	@mkdir -p $(dir $@)
	llvm-dlltool -m arm64 -d $< -l $@

$(ARM64_SMOKE): tests/windows/arm64/smoke.c include/lbk_ioctl.h $(ARM64_USER)/libkernel32.a
	@mkdir -p $(dir $@)
	$(ARM64_CLANG) -O2 -std=gnu11 -ffreestanding -nostdlib $(WARN) -isystem /usr/share/mingw-w64/include \
	    -municode -DUNICODE -D_WIN32_WINNT=0x0A00 -fuse-ld=lld -Wl,--subsystem,console -Wl,--entry,SmokeMain \
	    -o $@ $< -L$(ARM64_USER) -lkernel32

# A test driver that sends the loopback device the PnP and power IRPs Wine's PnP manager never
# sends (tests/windows/pnpprobe/pnpprobe.h); built and checked like the driver, never shipped.
PROBE := $(BUILD)/tests/pnpprobe.sys
PROBE_SRC := tests/windows/pnpprobe/pnpprobe.c
all: $(PROBE)

$(PROBE): $(PROBE_SRC) tests/windows/pnpprobe/pnpprobe.h include/lbk_ioctl.h scripts/check-driver-image.sh $(PE_CHECKSUM)
	@mkdir -p $(dir $@)
	$(CLANG_WIN) $(DRIVER_CFLAGS) $(DRIVER_LDFLAGS) -o $@.tmp $(PROBE_SRC) $(DRIVER_LIBS)
	$(PE_CHECKSUM) set $@.tmp >/dev/null
	scripts/check-driver-image.sh $@.tmp $(PE_CHECKSUM) x64 - >/dev/null
	mv $@.tmp $@

# Test-signs a copy of the image for a Windows machine in test mode (scripts/sign.sh).
sign: setup
	$(MAKE) driver
	scripts/sign.sh $(BUILD)

# The INFs (windows/inf/lbk.inf, and lbkport.inf for the bus's ends) are checked at every build,
# their values by the driver's own core code.
INF_CHECK := $(BUILD)/tools/inf_check
INF_CHECK_SRC := tools/inf_check.c core/lbk_config.c core/lbk_security.c core/lbk_serial.c core/lbk_flow.c core/lbk_limits.c

$(INF_CHECK): $(INF_CHECK_SRC) $(wildcard core/*.h) include/lbk_ioctl.h
	@mkdir -p $(dir $@)
	$(HOST_CC) -O2 -std=c11 $(WARN) -o $@ $(INF_CHECK_SRC)

$(BUILD)/windows/%.inf: windows/inf/%.inf $(INF_CHECK)
	@mkdir -p $(dir $@)
	$(INF_CHECK) $<
	cp $< $@

all: $(BUILD)/windows/lbk.inf $(BUILD)/windows/lbkport.inf

# build/package/: the signed image and the INF, what an INF install on Windows needs (scripts/package.sh).
package: setup
	$(MAKE) all
	scripts/sign.sh $(BUILD)
	scripts/package.sh $(BUILD)

# ---- User-mode library, tool and tests (mingw-w64 gcc; Unicode) -----------------------------
WIN_CFLAGS := -O2 -std=gnu11 $(WARN) -municode -DUNICODE -D_UNICODE -D_WIN32_WINNT=0x0A00
LIB_SRC    := windows/lib/device.c windows/lib/service.c windows/lib/pnp.c windows/lib/bus.c
LIB_HDR    := windows/lib/lbk_client.h include/lbk_ioctl.h
LIB        := $(BUILD)/windows/liblbk.a
# What a program linked with the library links too: SetupAPI finds devices by their interface,
# and it and newdev install the INF.
LIB_LIBS   := -ladvapi32 -lsetupapi -lnewdev
TOOL       := $(BUILD)/windows/lbkctl.exe

all: $(LIB) $(TOOL)

$(BUILD)/windows/lib/%.o: windows/lib/%.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(WIN_CFLAGS) -c -o $@ $<

# The core's wiring grammar too, so that lbkctl reads and prints wirings as the driver does.
$(BUILD)/windows/lib/lbk_flow.o: core/lbk_flow.c $(wildcard core/*.h) include/lbk_ioctl.h
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(WIN_CFLAGS) -c -o $@ $<

$(LIB): $(patsubst windows/lib/%.c,$(BUILD)/windows/lib/%.o,$(LIB_SRC)) $(BUILD)/windows/lib/lbk_flow.o
	x86_64-w64-mingw32-ar rcs $@ $^

$(TOOL): windows/tool/lbkctl.c $(LIB) $(LIB_HDR)
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $< $(LIB) $(LIB_LIBS)

INTEGRATION := $(BUILD)/windows/integration.exe
all: $(INTEGRATION)

$(INTEGRATION): tests/windows/integration.c tests/core/test_main.h $(LIB) $(LIB_HDR)
	$(MINGW_CC) $(WIN_CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB) $(LIB_LIBS)

SDDL_HEX := $(BUILD)/windows/sddl_hex.exe
all: $(SDDL_HEX)

$(SDDL_HEX): tests/windows/sddl_hex.c
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $< -ladvapi32

STRESS := $(BUILD)/windows/lbkstress.exe
all: $(STRESS)

$(STRESS): tests/windows/stress.c $(LIB) $(LIB_HDR)
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $< $(LIB) $(LIB_LIBS) -lntdll

# A serial program that uses the Win32 communications API only: no project header, no library.
SERIALTEST := $(BUILD)/windows/serialtest.exe
all: $(SERIALTEST)

$(SERIALTEST): tests/windows/serialtest.c
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $<

# A port picker that finds COM ports as pyserial and node-serialport do: SetupAPI only.
PORTFINDER := $(BUILD)/windows/portfinder.exe
all: $(PORTFINDER)

$(PORTFINDER): tests/windows/portfinder.c
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $< -lsetupapi -ladvapi32

TUTORIALS := $(patsubst tests/tutorials/%.c,$(BUILD)/windows/%.exe,$(wildcard tests/tutorials/*.c))
all: $(TUTORIALS)

$(BUILD)/windows/%.exe: tests/tutorials/%.c
	@mkdir -p $(dir $@)
	$(MINGW_CC) -O2 -std=gnu11 $(WARN) -Wno-missing-prototypes -o $@ $< -ladvapi32

# ---- Benchmarks (make bench; see docs/performance.md) ----------------------------------------
BENCH := $(BUILD)/windows/lbkbench.exe
all: $(BENCH)

$(BENCH): bench/windows/lbkbench.c $(LIB) $(LIB_HDR)
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $< $(LIB) $(LIB_LIBS)

# The device as an attacker or a new user meets it: canaries around every reply, the access
# matrix. Only <windows.h>, <winioctl.h> and include/lbk_ioctl.h, no library.
SWEEP := $(BUILD)/windows/sweep.exe
all: $(SWEEP)

$(SWEEP): tests/windows/sweep.c include/lbk_ioctl.h
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $<

# Every kind of read fed by every kind of writer returns exactly the bytes written (loopback,
# pair, serial pair): windows.h, winioctl.h and lbk_ioctl.h only.
FEEDTEST := $(BUILD)/windows/feedtest.exe
all: $(FEEDTEST)

$(FEEDTEST): tests/windows/feedtest.c include/lbk_ioctl.h
	@mkdir -p $(dir $@)
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $<

# lbkctl and the loopback suite's programs for ARM64 (scripts/test-wine-arm64.sh runs them against
# the ARM64 image under arm64 Wine): the same sources, linked against msvcrt.dll through
# tests/windows/arm64/runtime.c, as Debian has no aarch64 mingw-w64 runtime. lbkstress is not
# among them: it prints doubles, which runtime.c's forwarding to msvcrt.dll cannot carry.
ARM64_USER_CFLAGS := -O2 -std=gnu11 $(WARN) -isystem /usr/share/mingw-w64/include -municode -DUNICODE -D_UNICODE \
                     -D_WIN32_WINNT=0x0A00 -D__MSVCRT_VERSION__=0x700 -D__USE_MINGW_ANSI_STDIO=0
ARM64_USER_LINK := -nostdlib -fuse-ld=lld -Wl,--subsystem,console -Wl,--entry,mainCRTStartup \
                   -L$(ARM64_USER) $(addprefix -l,$(ARM64_USER_DLLS))
ARM64_RUNTIME := $(ARM64_USER)/runtime.o $(ARM64_USER)/chkstk.o
ARM64_CLIENT_LIB := $(patsubst windows/lib/%.c,$(ARM64_USER)/lib/%.o,$(LIB_SRC)) $(ARM64_USER)/lib/lbk_flow.o
ARM64_PROGRAMS := $(addprefix $(BUILD)/windows/arm64/,lbkctl.exe integration.exe sweep.exe feedtest.exe serialtest.exe)
ARM64_PROGRAM_DEPS := $(ARM64_RUNTIME) $(ARM64_CLIENT_LIB) $(foreach d,$(ARM64_USER_DLLS),$(ARM64_USER)/lib$(d).a)
all: $(ARM64_PROGRAMS)

$(ARM64_USER)/runtime.o: tests/windows/arm64/runtime.c
	@mkdir -p $(dir $@)
	$(ARM64_CLANG) $(ARM64_USER_CFLAGS) -c -o $@ $<

$(ARM64_USER)/chkstk.o: tests/windows/arm64/chkstk.S
	@mkdir -p $(dir $@)
	$(ARM64_CLANG) -c -o $@ $<

$(ARM64_USER)/lib/%.o: windows/lib/%.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(ARM64_CLANG) $(ARM64_USER_CFLAGS) -c -o $@ $<

$(ARM64_USER)/lib/lbk_flow.o: core/lbk_flow.c $(wildcard core/*.h) include/lbk_ioctl.h
	@mkdir -p $(dir $@)
	$(ARM64_CLANG) $(ARM64_USER_CFLAGS) -c -o $@ $<

$(BUILD)/windows/arm64/lbkctl.exe: windows/tool/lbkctl.c $(LIB_HDR) $(ARM64_PROGRAM_DEPS)
$(BUILD)/windows/arm64/integration.exe: tests/windows/integration.c tests/core/test_main.h $(LIB_HDR) $(ARM64_PROGRAM_DEPS)
$(BUILD)/windows/arm64/sweep.exe: tests/windows/sweep.c include/lbk_ioctl.h $(ARM64_PROGRAM_DEPS)
$(BUILD)/windows/arm64/feedtest.exe: tests/windows/feedtest.c include/lbk_ioctl.h $(ARM64_PROGRAM_DEPS)
$(BUILD)/windows/arm64/serialtest.exe: tests/windows/serialtest.c $(ARM64_PROGRAM_DEPS)
$(ARM64_PROGRAMS):
	@mkdir -p $(dir $@)
	$(ARM64_CLANG) $(ARM64_USER_CFLAGS) $(if $(filter integration.exe,$(notdir $@)),-Wno-missing-prototypes) \
	    -o $@ $< $(ARM64_RUNTIME) $(if $(filter lbkctl.exe integration.exe,$(notdir $@)),$(ARM64_CLIENT_LIB)) \
	    $(ARM64_USER_LINK)
