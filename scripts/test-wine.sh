#!/usr/bin/env bash
# The tests that need Wine: the integration suites once per I/O method (a 4 KiB device, pairs,
# a 16 MiB device; the pin measure on a 64 KiB neither device), pool release at each unload,
# configuration refusals, the tutorials' programs and the tool's exit codes.
# Prints one PASS/FAIL line per check. Usage: test-wine.sh BUILD_DIR
set -uo pipefail
BUILD=$1
. "$(dirname "$0")/wine-env.sh"
. "$(dirname "$0")/wine-checks.sh"
reg_add() { wine reg add 'HKLM\System\CurrentControlSet\Services\LBK\Parameters' /f /v "$1" /t "$2" /d "$3" >/dev/null 2>&1; }

: >"$LBK_DRIVER_LOG"
wine_up
image=$(win_path "$bin/lbk.sys")
remove_stale_services LBK Example LBKCYCLE PAIRS HOLDER PAIRX SERIAL SERIALX SERACCESS
wine sc stop LBKPROBE >/dev/null 2>&1; wine sc delete LBKPROBE >/dev/null 2>&1 # a run interrupted earlier
unloads=0

for method in buffered direct neither; do
    loopback_suites "$method"
done

# A two-character name leaves the most of the name array behind its terminator.
lbkctl install --device-name RV --image "$image" --buffer-size 4096 --trace-level 2 >/dev/null &&
    lbkctl start >/dev/null || echo "FAIL wine[RV]: cannot load a device named RV"
sweep "buffered,RV" --kind plain --device '\\.\RV'
lbkctl stop >/dev/null
unloads=$((unloads + 1))
check "pool_released_after_RV" unloads_clean "$unloads"
lbkctl uninstall >/dev/null

# The issue's measure of pinned pool: 8 x 64 MiB neither-I/O writes waiting on a 64 KiB device.
lbkctl install --image "$image" --io-method neither --buffer-size 65536 --trace-level 2 >/dev/null &&
    lbkctl start >/dev/null || echo "FAIL wine[neither,pin]: cannot load a 64 KiB device"
suite 300 integration.exe --suite pin --device LBK --method neither
lbkctl stop >/dev/null
unloads=$((unloads + 1))
check "pool_released_after_pin" unloads_clean "$unloads"
lbkctl uninstall >/dev/null

# Neither I/O with a large buffer: a 1-byte request must not make the driver hold a bounce buffer
# of the whole buffer size (only up to 1 MiB is kept between requests).
lbkctl install --image "$image" --io-method neither --buffer-size 67108864 --trace-level 2 >/dev/null &&
    lbkctl start >/dev/null
check "neither_small_request_keeps_at_most_1_MiB_of_bounce_buffer" bash -c 'wine "$0" write x >/dev/null &&
    [ "$(wine "$0" read)" = x ] && pool=$(wine "$0" stats | tr -d "\r" | sed -n "s/^pool  *\([0-9]*\) bytes/\1/p") &&
    echo "pool $pool bytes" && [ -n "$pool" ] && [ "$pool" -le $((64 * 1048576 + 1048576 + 65536)) ]' "$bin/lbkctl.exe"
lbkctl stop >/dev/null
unloads=$((unloads + 1))
check "pool_released_after_large_neither_device" unloads_clean "$unloads"
lbkctl uninstall >/dev/null

# Several devices, message mode from Parameters, discovery.
lbkctl install --image "$image" --device-count 3 --message-mode 1 --buffer-size 256 --trace-level 2 >/dev/null &&
    lbkctl start >/dev/null
check "device_count_3_makes_LBK0_to_LBK2" bash -c 'out=$(wine "$0" list | tr -d "\r"); grep -q "^LBK0 " <<<"$out" &&
    grep -q "^LBK2 " <<<"$out" && ! grep -q "^LBK " <<<"$out" && grep -q "^3 devices" <<<"$out"' "$bin/lbkctl.exe"
check "list_shows_role_mode_and_capacity" bash -c 'wine "$0" list | tr -d "\r" | grep -Eq "^LBK1 +loopback +LBK1 +buffered +message +256 "' \
    "$bin/lbkctl.exe"
check "devices_have_their_own_buffers" bash -c 'wine "$0" write --device LBK1 one && wine "$0" write --device LBK1 two &&
    wine "$0" stats --device LBK0 |
    tr -d "\r" | grep -q "^queued  *0 bytes" && wine "$0" stats --device LBK1 | tr -d "\r" | grep -q "^queued  *6 bytes"' \
    "$bin/lbkctl.exe"
check "message_mode_from_parameters_reads_one_message_each" bash -c \
    '[ "$(wine "$0" read --device LBK1 --bytes 3)" = one ] && [ "$(wine "$0" read --device LBK1)" = two ]' \
    "$bin/lbkctl.exe"
check "tool_write_message_over_max_fails_with_message" bash -c \
    'out=$(wine "$0" write --device LBK2 "$(printf "m%.0s" $(seq 253))" 2>&1); [ $? -eq 2 ] && grep -q "error 1784" <<<"$out"' \
    "$bin/lbkctl.exe"
check "tool_mode_switch_and_info" bash -c 'wine "$0" mode --device LBK2 stream && wine "$0" info --device LBK2 |
    tr -d "\r" | grep -q "^mode  *byte-stream"' "$bin/lbkctl.exe"
check "tool_wait_times_out_exit_3_and_sees_data" bash -c '{ wine "$0" wait --device LBK0 --timeout 100; [ $? -eq 3 ]; } &&
    wine "$0" write --device LBK0 x && wine "$0" wait --device LBK0 --events both | tr -d "\r" | grep -q "^events: readable writable;"' \
    "$bin/lbkctl.exe"
check "tool_nonblocking_read_of_empty_device_exits_3" bash -c \
    'wine "$0" read --device LBK2 --bytes 1 --timeout 0; [ $? -eq 3 ]' "$bin/lbkctl.exe"
lbkctl stop >/dev/null; unloads=$((unloads + 1))
lbkctl uninstall >/dev/null
# lbkctl runs where CancelIoEx does not exist (it imports none), and learns whether a device is a
# serial end from GET_INFO, not by sending it a serial request (which a plain device logs, at
# TraceLevel 3, as an unknown IOCTL 0x001b....).
check "tool_imports_no_CancelIoEx" bash -c '! x86_64-w64-mingw32-objdump -p "$0" | grep -q CancelIoEx' "$bin/lbkctl.exe"
lbkctl install --image "$image" --trace-level 3 >/dev/null && lbkctl start >/dev/null
check "tool_read_sends_a_plain_device_no_serial_request" bash -c 'wine "$0" write x >/dev/null &&
    [ "$(wine "$0" read)" = x ] && ! grep -a "unknown IOCTL 0x001b" "$1"' "$bin/lbkctl.exe" "$LBK_DRIVER_LOG"
lbkctl stop >/dev/null; unloads=$((unloads + 1))
lbkctl uninstall >/dev/null
check "config_rejects_device_count_65" bash -c 'wine "$0" install --image "$1" --device-count 65 >/dev/null &&
    ! wine "$0" start; r=$?; wine "$0" uninstall >/dev/null; exit $r' "$bin/lbkctl.exe" "$image"
check "config_logs_bad_device_count" lines_in_log 'Parameters\DeviceCount: the device count is not between 1 and 64'
check "config_rejects_total_over_1GiB" bash -c 'wine "$0" install --image "$1" --device-count 5 --buffer-size 268435456 >/dev/null &&
    ! wine "$0" start; r=$?; wine "$0" uninstall >/dev/null; exit $r' "$bin/lbkctl.exe" "$image"
check "config_logs_total_too_large" lines_in_log 'Parameters: devices x buffer size is above 1 GiB'
# A load that fails half-way undoes what it built, and its host survives: under Wine a second
# service of the same image loads, and fails at end B, whose name HOLDER took (the log shows it).
lbkctl install --name HOLDER --device-name PB --image "$image" >/dev/null && lbkctl start --name HOLDER >/dev/null
lbkctl install --name PAIRX --device-name P --pairs 1 --trace-level 2 --image "$image" >/dev/null
check "pair_load_fails_cleanly_when_a_name_is_taken" bash -c '! wine "$0" start --name PAIRX &&
    wine "$0" write --device PB alive && [ "$(wine "$0" read --device PB)" = alive ]' "$bin/lbkctl.exe"
check "pair_load_failure_logs_the_name" lines_in_log 'IoCreateDevice(\Device\PB): 0x'
check "pair_load_failure_undoes_everything" lines_in_log 'load undone, no pool held'
lbkctl uninstall --name PAIRX >/dev/null
lbkctl stop --name HOLDER >/dev/null; lbkctl uninstall --name HOLDER >/dev/null
check "config_rejects_unknown_peer_policy" bash -c 'wine "$0" install --image "$1" --pairs 1 --when-peer-closed maybe >/dev/null &&
    ! wine "$0" start; r=$?; wine "$0" uninstall >/dev/null; exit $r' "$bin/lbkctl.exe" "$image"

# Security: each device gets the documented DACL before it can be opened. Wine neither checks
# it at open nor returns it from a client's handle, so the driver logs the descriptor it reads
# back from the object manager, and that must be what advapi32's own SDDL converter makes of the
# documented string (generic rights as the file rights they map to).
security_logged_is() { # SDDL DEVICE...
    local expected device
    expected=$(wine "$bin/sddl_hex.exe" "$1" | tr -d '\r') && [ -n "$expected" ] || return 1
    shift
    for device in "$@"; do
        driver_log | grep -x "lbk: $device: security descriptor $expected" >/dev/null ||
            { echo "$device: expected $expected"; driver_log | grep "lbk: $device: security"; return 1; }
    done
}
lbkctl install --image "$image" --trace-level 2 >/dev/null && lbkctl start >/dev/null
check "security_default_is_system_and_administrators_only" security_logged_is 'D:P(A;;FA;;;SY)(A;;FA;;;BA)' LBK
lbkctl stop >/dev/null; unloads=$((unloads + 1)); lbkctl uninstall >/dev/null
lbkctl install --image "$image" --trace-level 2 --device-count 2 --security 'D:P(A;;GRGW;;;WD)(A;;GA;;;SY)' >/dev/null &&
    lbkctl start >/dev/null
check "security_configured_string_on_every_device" security_logged_is 'D:P(A;;FRFW;;;WD)(A;;FA;;;SY)' LBK0 LBK1
lbkctl stop >/dev/null; unloads=$((unloads + 1)); lbkctl uninstall >/dev/null
lbkctl install --image "$image" --security 'D:P(A;;GA;;;SY)(D;;GA;;;WD)' >/dev/null
check "security_rejects_deny_entries" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
check "security_logs_why_and_where" lines_in_log 'Parameters\Security: only allow entries (A) are supported (at character 17)'
lbkctl uninstall >/dev/null
lbkctl install --image "$image" --security 'O:BAG:BAD:(A;;GA;;;SY)' >/dev/null
check "security_rejects_owner_and_group" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
check "security_logs_dacl_only" lines_in_log 'Parameters\Security: the security string must start with D:'
lbkctl uninstall >/dev/null

# Long WAIT timeouts: the timer thread must sleep until then. Before the deadline arithmetic moved
# to the core, (ticks * 10^7) wrapped past 25.6 h at a 10 MHz counter, and where the wrap came
# out negative (27.8 h does) the "relative" wait was an absolute time long past: the thread woke
# at once, for ever. Also the longest the tool sends (49.7 days less 1 ms; 4294967295 is INFINITE).
long_wait_leaves_driver_idle() { # TIMEOUT_MS
    local waiter before after
    wine "$bin/lbkctl.exe" wait --timeout "$1" >/dev/null 2>&1 &
    waiter=$!
    sleep 2
    before=$(winedevice_cpu_ticks)
    sleep 3
    after=$(winedevice_cpu_ticks)
    kill "$waiter" 2>/dev/null; wait "$waiter" 2>/dev/null
    echo "winedevice.exe used $((after - before)) clock ticks in 3 s with the WAIT pending"
    [ -n "$before" ] && [ "$((after - before))" -lt "$(($(getconf CLK_TCK) / 2))" ]
}
lbkctl install --image "$image" --trace-level 2 >/dev/null && lbkctl start >/dev/null
check "wait_of_27_hours_does_not_spin_the_timer_thread" long_wait_leaves_driver_idle 100000000
check "longest_wait_timeout_does_not_spin_the_timer_thread" long_wait_leaves_driver_idle 4294967294
lbkctl stop >/dev/null; unloads=$((unloads + 1)); lbkctl uninstall >/dev/null

# Configuration: bad values stop the load with a logged reason; the trace level is clamped.
lbkctl install --image "$image" >/dev/null
reg_add BufferSize REG_DWORD 0
check "config_rejects_zero_buffer_size" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
check "config_logs_why_it_refused" lines_in_log 'Parameters\BufferSize: the buffer size is below 1 byte'
reg_add BufferSize REG_DWORD 268435457
check "config_rejects_buffer_over_256MiB" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
reg_add BufferSize REG_SZ 4096
check "config_rejects_wrong_registry_type" bash -c '! wine "$0" start && true' "$bin/lbkctl.exe"
check "config_logs_wrong_type" lines_in_log 'Parameters\BufferSize: wrong registry type'
reg_add BufferSize REG_DWORD 1
reg_add IoMethod REG_SZ sideways
check "config_rejects_unknown_io_method" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
reg_add IoMethod REG_SZ Direct
reg_add DeviceName REG_SZ 'bad name'
check "config_rejects_bad_device_name" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
long_name=$(printf 'n%.0s' $(seq 64))
reg_add DeviceName REG_SZ "$long_name"
check "config_rejects_64_character_name" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
check "config_logs_name_too_long" lines_in_log 'Parameters\DeviceName: the name is longer than 63 characters'
reg_add DeviceName REG_SZ "$(printf 'x%.0s' $(seq 5000))"
check "config_rejects_5000_character_name" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
check "config_logs_value_too_long" lines_in_log 'Parameters\DeviceName: the value is too long'
reg_add DeviceName REG_SZ Other
reg_add IoMethod REG_SZ "$(printf 'b%.0s' $(seq 300))"
check "config_rejects_300_character_io_method" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
reg_add IoMethod REG_SZ Direct
reg_add BufferSize REG_DWORD 4294967295
check "config_rejects_buffer_size_0xffffffff" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
reg_add BufferSize REG_QWORD 4096
check "config_rejects_qword_buffer_size" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
reg_add BufferSize REG_BINARY 00100000
check "config_rejects_binary_buffer_size" bash -c '! wine "$0" start' "$bin/lbkctl.exe"
reg_add BufferSize REG_DWORD 268435456
check "config_loads_largest_buffer_256MiB" bash -c 'wine "$0" start && wine "$0" stop' "$bin/lbkctl.exe"
reg_add BufferSize REG_DWORD 1
reg_add TraceLevel REG_DWORD 4294967295
check "config_clamps_trace_level_0xffffffff" bash -c 'wine "$0" start && wine "$0" stop' "$bin/lbkctl.exe"
unloads=$((unloads + 1)) # the clamped level (3) logs its unload
reg_add TraceLevel REG_DWORD 9
check "config_clamps_trace_level_and_loads" wine "$bin/lbkctl.exe" start
check "config_logs_clamped_trace_level" lines_in_log 'Parameters\TraceLevel: the trace level is above 3 and was clamped to 3'
check "config_device_name_and_one_byte_ring" bash -c \
    'wine "$0" write --device Other a && [ "$(wine "$0" read --device Other)" = a ]' "$bin/lbkctl.exe"
check "tool_write_timeout_on_full_ring_exits_3" bash -c \
    'wine "$0" write --device Other a && { wine "$0" write --device Other --timeout 200 b; [ $? -eq 3 ]; } &&
     [ "$(wine "$0" read --device Other)" = a ]' "$bin/lbkctl.exe"
check "config_device_name_replaces_service_name" bash -c '! wine "$0" stats --device LBK' "$bin/lbkctl.exe"
lbkctl stop >/dev/null; unloads=$((unloads + 1))
lbkctl uninstall >/dev/null
check "pool_released_after_config_runs" unloads_clean "$unloads"

# Serial ports: their names, a name that is taken, and configurations the driver refuses.
serialcomm() { wine reg query 'HKLM\HARDWARE\DEVICEMAP\SERIALCOMM' 2>/dev/null | tr -d '\r'; }
lbkctl install --name SERIAL --device-name SER --image "$image" --trace-level 2 --device-count 2 --pairs 1 \
    --serial 1 --port-names COM7,-,COM8 >/dev/null && lbkctl start --name SERIAL >/dev/null
check "serial_ports_are_listed_in_serialcomm" bash -c 'grep -Eq "Device.SER0A +REG_SZ +COM7$" <<<"$0" &&
    grep -Eq "Device.SER1A +REG_SZ +COM8$" <<<"$0" && ! grep -q "SER0B\|SER1B" <<<"$0"' "$(serialcomm)"
check "lbkctl_writes_to_a_com_port_and_reads_the_other_end" bash -c 'wine "$0" write --device COM7 hello &&
    [ "$(wine "$0" read --device SER0B)" = hello ] && [ -z "$(wine "$0" read --device SER0B)" ]' "$bin/lbkctl.exe"
check "lbkctl_read_of_a_quiet_port_times_out_with_exit_3" bash -c 'wine "$0" read --device SER0B --bytes 4 --timeout 200;
    [ $? -eq 3 ]' "$bin/lbkctl.exe"
# A second service asks for COM8, which the first holds: it loads, and its end keeps its own name.
lbkctl install --name SERIALX --device-name SERX --image "$image" --trace-level 2 --pairs 1 --serial 1 \
    --port-names COM8 >/dev/null && lbkctl start --name SERIALX >/dev/null
check "a_taken_com_name_is_logged_and_left_alone" lines_in_log 'SERXA: COM8 is taken'
check "the_end_of_a_taken_name_keeps_its_own_name" timeout 120 wine "$bin/serialtest.exe" '\\.\SERXA' '\\.\SERXB' own-names
check "com8_still_belongs_to_its_owner" bash -c 'grep -Eq "Device.SER1A +REG_SZ +COM8$" <<<"$0" &&
    ! grep -q SERXA <<<"$0"' "$(serialcomm)"
lbkctl stop --name SERIALX >/dev/null
lbkctl uninstall --name SERIALX >/dev/null
lbkctl stop --name SERIAL >/dev/null
unloads=$((unloads + 2))
check "serialcomm_forgets_the_ports_at_unload" bash -c '! grep -q "SER0A\|SER1A" <<<"$0"' "$(serialcomm)"
lbkctl uninstall --name SERIAL >/dev/null
# Serial for one pair of two (Serial as a list): the other stays a plain pair.
lbkctl install --name SERIAL --device-name SER --image "$image" --trace-level 2 --device-count 2 --pairs 1 \
    --serial-pairs 1 --port-names -,-,COM9 >/dev/null && lbkctl start --name SERIAL >/dev/null
check "serial_pairs_list_makes_only_that_pair_a_cable" timeout 120 wine "$bin/serialtest.exe" COM9 '\\.\SER1B' listed
check "a_pair_not_listed_is_no_serial_port" bash -c 'wine "$0" --probe COM9 && ! wine "$0" --probe "\\\\.\\SER0A"' \
    "$bin/serialtest.exe"
lbkctl stop --name SERIAL >/dev/null
unloads=$((unloads + 1))
lbkctl uninstall --name SERIAL >/dev/null
serial_refused() { # serial_refused LOG_TEXT INSTALL_OPTIONS...: the start fails and the log says why
    local text=$1; shift
    lbkctl install --name SERIAL --image "$image" "$@" >/dev/null || return 1
    wine "$bin/lbkctl.exe" start --name SERIAL >/dev/null 2>&1; local started=$?
    wine "$bin/lbkctl.exe" stop --name SERIAL >/dev/null 2>&1; lbkctl uninstall --name SERIAL >/dev/null
    [ $started -ne 0 ] && lines_in_log "$text"
}
check "serial_without_pairs_is_refused" serial_refused 'Serial 1 needs Pairs 1' --serial 1
check "serial_with_message_mode_is_refused" serial_refused 'Serial 1 needs Pairs 1' --serial 1 --pairs 1 --message-mode 1
check "port_names_without_serial_are_refused" serial_refused 'PortNames and BaudEmulation need Serial for their pairs' --pairs 1 --port-names COM5
check "a_com_name_twice_is_refused" serial_refused 'PortNames is not' --pairs 1 --serial 1 --port-names COM5,COM5
check "baud_emulation_without_serial_is_refused" serial_refused 'PortNames and BaudEmulation need Serial for their pairs' --pairs 1 \
    --baud-emulation 1
check "serial_pairs_past_device_count_are_refused" serial_refused 'a comma-separated list of pair numbers' \
    --pairs 1 --device-count 2 --serial-pairs 0,2
check "baud_emulation_of_a_pair_not_serial_is_refused" serial_refused 'need Serial for their pairs' --pairs 1 \
    --device-count 2 --serial-pairs 0 --baud-emulation-pairs 1
check "more_names_than_ends_are_refused" serial_refused 'PortNames and BaudEmulation need Serial for their pairs' --pairs 1 --serial 1 \
    --port-names COM5,COM6,COM7
check "pool_released_after_serial_names" unloads_clean "$unloads"

# The first tutorial: service "Example" from C:\example.sys, a client writing a C string.
cp "$bin/lbk.sys" "$WINEPREFIX/drive_c/example.sys"
check "tutorial_loader_creates_and_starts_Example" wine "$bin/example_loader.exe" load
check "tutorial_client_writes_to_Example" wine "$bin/example_client.exe"
check "tutorial_client_bytes_arrive" bash -c \
    '[ "$(wine "$0" read --device Example | od -An -c | tr -s " ")" = "$(printf "Hello from user mode!\\0" | od -An -c | tr -s " ")" ]' "$bin/lbkctl.exe"
check "tutorial_loader_stops_and_deletes_Example" wine "$bin/example_loader.exe" unload
check "tutorial_Example_is_gone" bash -c '! wine "$0" status --name Example' "$bin/lbkctl.exe"


# The second tutorial: LBK installed with sc create and net start, then its tester.
cp "$bin/lbk.sys" "$WINEPREFIX/drive_c/lbk.sys"
check "tutorial_sc_create_LBK" wine sc create LBK type= kernel start= demand binpath= 'C:\lbk.sys'
check "tutorial_net_start_LBK" wine net start LBK
check "tutorial_tester_round_trip" wine "$bin/lbk_tester.exe"
check "tutorial_net_stop_LBK" wine net stop LBK
check "tutorial_sc_delete_LBK" wine sc delete LBK
check "no_pool_leak_logged_after_tutorials" no_leak_logged

# The tool's documented exit codes and messages.
check "tool_help_exits_0" wine "$bin/lbkctl.exe" --help
check "tool_no_arguments_exits_1" bash -c 'wine "$0"; [ $? -eq 1 ]' "$bin/lbkctl.exe"
check "tool_unknown_command_exits_1" bash -c 'wine "$0" frobnicate; [ $? -eq 1 ]' "$bin/lbkctl.exe"
check "tool_bad_number_exits_1" bash -c 'wine "$0" read --bytes ten; [ $? -eq 1 ]' "$bin/lbkctl.exe"
check "tool_missing_device_exits_2_with_message" bash -c \
    'out=$(wine "$0" stats --device NoSuchDevice 2>&1); [ $? -eq 2 ] && grep -q "error 2: " <<<"$out"' "$bin/lbkctl.exe"
check "tool_missing_service_exits_2" bash -c 'wine "$0" start --name NoSuchService; [ $? -eq 2 ]' "$bin/lbkctl.exe"
# A service uninstalled while it runs is gone only once it has stopped; until then an install of
# the same name failed with ERROR_SERVICE_MARKED_FOR_DELETE (1072), as CI saw once after a stop.
# The install now waits for it (up to 15 s).
check "install_waits_for_a_service_still_being_deleted" bash -c \
    'wine "$0" install --name HOLDSVC --device-name HOLDDEV --image "$1" >/dev/null && wine "$0" start --name HOLDSVC >/dev/null &&
     wine "$0" uninstall --name HOLDSVC >/dev/null || exit 1
     { sleep 2; wine "$0" stop --name HOLDSVC >/dev/null; } &
     wine "$0" install --name HOLDSVC --image "$1"; r=$?
     wait; wine "$0" uninstall --name HOLDSVC >/dev/null; exit $r' "$bin/lbkctl.exe" "$image"
lbkctl install --image "$image" >/dev/null && lbkctl start >/dev/null
check "tool_read_timeout_exits_3" bash -c 'wine "$0" read --bytes 1 --timeout 100; [ $? -eq 3 ]' "$bin/lbkctl.exe"
check "tool_stdin_binary_round_trip" bash -c \
    'head -c 3000 /dev/urandom >"$1/rand.bin" && wine "$0" write <"$1/rand.bin" && wine "$0" read >"$1/rand.out" && cmp "$1/rand.bin" "$1/rand.out"' \
    "$bin/lbkctl.exe" "$BUILD"
lbkctl stop >/dev/null
lbkctl uninstall >/dev/null

# The INF install: SetupAPI and newdev make the Root\LBK device node from the packaged INF and the
# driver, loaded by Plug and Play, gives it one loopback device, LBK0, with its device interface.
# Once per I/O method (the packaged INF with that method, a 4 KiB buffer and TraceLevel 2): the
# loopback suite through the PnP device, whose last test removes the node under a pending read
# and installs it again; then the node is removed and the service, left with no device, stopped.
inf=$(win_path "$BUILD/package/lbk.inf")
pnp_inf() { # METHOD -> the Windows path of that method's INF, beside a copy of the image
    local dir=$BUILD/pnp-$1
    mkdir -p "$dir/amd64" && cp "$BUILD/package/amd64/lbk.sys" "$dir/amd64/" &&
        sed -e "s/IoMethod,0x00000000,\"buffered\"/IoMethod,0x00000000,\"$1\"/" \
            -e 's/BufferSize,0x00010001,65536/BufferSize,0x00010001,4096/' \
            -e 's/TraceLevel,0x00010001,0/TraceLevel,0x00010001,2/' "$BUILD/package/lbk.inf" >"$dir/lbk.inf" &&
        win_path "$dir/lbk.inf"
}
lbkctl pnp-remove >/dev/null 2>&1
check "pnp_install_from_the_inf_makes_a_Root_LBK_device" bash -c \
    'out=$(wine "$0" pnp-install "$1") && grep -q "^installed Root.LBK from " <<<"$out"' "$bin/lbkctl.exe" "$inf"
check "pnp_device_has_the_inf_class_service_and_security" bash -c \
    'enum=$(wine reg query "HKLM\\System\\CurrentControlSet\\Enum\\ROOT" /s | tr -d "\r");
     grep -q "HardwareID *REG_MULTI_SZ *Root\\\\LBK" <<<"$enum" && grep -qi "ClassGUID *REG_SZ *{a6dca497-3d01-4241-b405-1568ba72dbc1}" <<<"$enum" &&
     grep -q "Service *REG_SZ *LBK" <<<"$enum" && grep -q "Security *REG_SZ *D:P(A;;GA;;;SY)(A;;GA;;;BA)" <<<"$enum"'
# Opens by interface meet the node's descriptor, opens by name the device object's: the same one
# (inf_check holds the INF's two strings to one descriptor; this, the device object's as applied).
check "pnp_device_object_has_the_nodes_descriptor" security_logged_is 'D:P(A;;FA;;;SY)(A;;FA;;;BA)' LBK0
# Once in a clean-clone run `wine reg query` of a key that was there printed nothing: a reading
# that comes back empty is taken again, and what was read is shown when the check fails.
check "pnp_service_has_the_inf_parameters" bash -c \
    'for try in 1 2 3; do p=$(wine reg query "HKLM\\System\\CurrentControlSet\\Services\\LBK\\Parameters" | tr -d "\r");
         [ -n "$p" ] && break; echo "reg query printed nothing (try $try)"; sleep 1; done; echo "$p";
     grep -q "IoMethod *REG_SZ *buffered" <<<"$p" && grep -q "BufferSize *REG_DWORD *0x10000" <<<"$p" &&
     grep -q "PlugAndPlay *REG_DWORD *0x1" <<<"$p"'
check "pnp_list_finds_LBK0_by_name_and_by_interface" bash -c \
    'out=$(wine "$0" list | tr -d "\r"); echo "$out"; grep -Eq "^LBK0 +loopback +LBK0 +buffered +stream +65536 .* both$" <<<"$out" &&
     grep -Eqi "^LBK0 interface \\\\\\\\\?\\\\root#loopbackdevice#[0-9]+#\{6a3c1f5e-82d4-4b0a-9e71-3d5b2c8f40a7\}$" <<<"$out" &&
     ! grep -q "^LBK " <<<"$out"' "$bin/lbkctl.exe"
check "pnp_device_round_trips_through_the_tool" bash -c \
    'wine "$0" write --device LBK0 "through PnP" >/dev/null && [ "$(wine "$0" read --device LBK0)" = "through PnP" ]' "$bin/lbkctl.exe"
check "pnp_service_stop_with_a_device_refused_at_once" bash -c \
    'out=$(wine "$0" stop 2>&1); rc=$?; echo "$out"; [ $rc -eq 2 ] && grep -q "error 1052" <<<"$out" &&
     grep -q "pnp-remove" <<<"$out" && wine "$0" info --device LBK0 >/dev/null' "$bin/lbkctl.exe"
# Wine's SetupDiSetClassInstallParams is a stub: disabling cannot reach the driver there.
check "pnp_disable_under_wine_fails_clearly_and_leaves_the_device" bash -c \
    'out=$(wine "$0" pnp-disable 2>&1); rc=$?; echo "$out"; [ $rc -eq 2 ] && grep -q "cannot disable Root.LBK: error 120" <<<"$out" &&
     wine "$0" info --device LBK0 >/dev/null' "$bin/lbkctl.exe"
check "pnp_remove_removes_the_device_and_its_interface" bash -c \
    'out=$(wine "$0" pnp-remove | tr -d "\r") && grep -q "^removed 1 Root.LBK device$" <<<"$out" &&
     ! wine reg query "HKLM\\System\\CurrentControlSet\\Enum\\ROOT" /s | tr -d "\r" | grep "Root\\\\LBK" >/dev/null &&
     wine "$0" list | tr -d "\r" | grep -q "^0 devices$"' "$bin/lbkctl.exe"
check "pnp_remove_with_none_left_removes_0" bash -c \
    'out=$(wine "$0" pnp-remove | tr -d "\r") && grep -q "^removed 0 Root.LBK devices$" <<<"$out"' "$bin/lbkctl.exe"
check "pnp_install_of_a_missing_inf_exits_2_with_message" bash -c \
    'out=$(wine "$0" pnp-install "C:\\no\\such.inf" 2>&1); [ $? -eq 2 ] && grep -q "cannot install from" <<<"$out"' "$bin/lbkctl.exe"
lbkctl stop >/dev/null
# START once, then SURPRISE_REMOVAL and REMOVE_DEVICE, twice each (the suite's reload, then the end).
pnp_life_logged() { # LINES: what the driver logged after the first LINES lines
    local log
    log=$(driver_log | tail -n +"$(($1 + 1))")
    [ "$(grep -c '^lbk: LBK0: START_DEVICE$' <<<"$log")" -eq 2 ] &&
        [ "$(grep -c '^lbk: LBK0: SURPRISE_REMOVAL$' <<<"$log")" -eq 2 ] &&
        [ "$(grep -c '^lbk: LBK0: REMOVE_DEVICE$' <<<"$log")" -eq 2 ] &&
        [ "$(grep -c '^lbk: LBK0: removed$' <<<"$log")" -eq 2 ] && ! grep 'IoRegisterDeviceInterface\|cannot be' <<<"$log"
}
for method in buffered direct neither; do
    method_inf=$(pnp_inf "$method")
    log_mark=$(driver_log | wc -l)
    check "pnp_install[$method]" bash -c 'wine "$0" pnp-install "$1" >/dev/null' "$bin/lbkctl.exe" "$method_inf"
    suite 600 integration.exe --device LBK0 --inf "$method_inf" --method "$method"
    check "pnp_remove_after_the_suite[$method]" bash -c \
        'wine "$0" pnp-remove | tr -d "\r" | grep -q "^removed 1 Root.LBK device$"' "$bin/lbkctl.exe"
    check "pnp_device_started_and_was_removed_twice[$method]" pnp_life_logged "$log_mark"
    lbkctl stop >/dev/null
    unloads=$((unloads + 1))
    check "pool_released_after_pnp[$method]" unloads_clean "$unloads"
done
# The PnP requests Wine never sends (QUERY_STOP, STOP, the cancels, QUERY_REMOVE, others, power),
# sent by the test driver pnpprobe.sys, which finds the device through \Driver\LBK: both services
# in one load order group, so that Wine runs them in one winedevice process.
mkdir -p "$BUILD/pnp-states/amd64" && cp "$BUILD/package/amd64/lbk.sys" "$BUILD/pnp-states/amd64/" &&
    sed -e 's/TraceLevel,0x00010001,0/TraceLevel,0x00010001,2/' -e 's/^ServiceBinary .*/&\nLoadOrderGroup = LbkPnpTest/' \
        "$BUILD/package/lbk.inf" >"$BUILD/pnp-states/lbk.inf"
wine sc create LBKPROBE type= kernel start= demand group= LbkPnpTest binPath= "$(win_path "$BUILD/tests/pnpprobe.sys")" >/dev/null
check "pnp_probe_driver_starts" bash -c 'wine sc start LBKPROBE | tr -d "\r" | grep -q "RUNNING"'
check "pnp_install_beside_the_probe" bash -c 'wine "$0" pnp-install "$1" >/dev/null' "$bin/lbkctl.exe" \
    "$(win_path "$BUILD/pnp-states/lbk.inf")"
suite 300 integration.exe --suite pnp-states --device LBK0 --method buffered
lbkctl pnp-remove >/dev/null
lbkctl stop >/dev/null
unloads=$((unloads + 1))
check "pool_released_after_pnp_states" unloads_clean "$unloads"
# The serial requests' access checks, which Wine never lets the driver make (its CREATE carries
# no security context, so the driver grants every handle everything): pnpprobe.sys opens SERA
# itself as Windows' I/O manager would, with each access under test, and sends the requests. The
# serial pair's service is in the probe's load order group, so both run in one winedevice process.
serial_access_reg() { wine reg add 'HKLM\System\CurrentControlSet\Services\SERACCESS\Parameters' /f /v "$1" /t "$2" \
    /d "$3" >/dev/null 2>&1; }
wine sc create SERACCESS type= kernel start= demand group= LbkPnpTest binPath= "$image" >/dev/null
serial_access_reg DeviceName REG_SZ SER && serial_access_reg Pairs REG_DWORD 1 && serial_access_reg Serial REG_DWORD 1 &&
    serial_access_reg BufferSize REG_DWORD 4096 && serial_access_reg TraceLevel REG_DWORD 2
check "serial_access_pair_starts_beside_the_probe" wine "$bin/lbkctl.exe" start --name SERACCESS
suite 300 integration.exe --suite serial-access --device SER --service SERACCESS --method buffered
lbkctl stop --name SERACCESS >/dev/null
unloads=$((unloads + 1))
check "pool_released_after_serial_access" unloads_clean "$unloads"
lbkctl uninstall --name SERACCESS >/dev/null
wine sc stop LBKPROBE >/dev/null 2>&1
wine sc delete LBKPROBE >/dev/null 2>&1
lbkctl uninstall >/dev/null
# The serial port bus: COM ports that Windows enumerates, found as port pickers find them.
. "$(dirname "$0")/test-wine-bus.sh"
