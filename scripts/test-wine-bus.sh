# test-wine-bus.sh - the serial port bus under Wine (docs/serial.md, "Plug and Play pairs"):
# COM ports that Windows enumerates, found as port pickers find them, added, renamed and removed
# while others carry data. Sourced by test-wine.sh (its bin, check, suite, lbkctl, unloads).
#
# Wine's SetupCopyOEMInf refuses an INF whose catalog it cannot add (lbkport.cat is made on
# Windows only), so the test's copy of lbkport.inf names none (docs/reliability.md, Wine finding 19).
bus_dir=$BUILD/bus
mkdir -p "$bus_dir/amd64" && cp "$BUILD/package/amd64/lbk.sys" "$bus_dir/amd64/" &&
    sed -e 's/TraceLevel,0x00010001,0/TraceLevel,0x00010001,2/' -e 's/BufferSize,0x00010001,65536/BufferSize,0x00010001,4096/' \
        "$BUILD/package/lbk.inf" >"$bus_dir/lbk.inf" &&
    sed '/^CatalogFile/d' "$BUILD/package/lbkport.inf" >"$bus_dir/lbkport.inf"
bus_inf=$(win_path "$bus_dir/lbk.inf")
export bin
lbkctl bus-remove >/dev/null 2>&1 # a run interrupted earlier

# Whether the COM name arbiter's database has COM<n> claimed (bit n-1 of the ComDB value).
comdb_claims() { # N
    local hex
    hex=$(wine reg query 'HKLM\SYSTEM\CurrentControlSet\Control\COM Name Arbiter' /v ComDB 2>/dev/null | tr -d '\r' |
        sed -n 's/^ *ComDB *REG_BINARY *//p')
    local index=$((($1 - 1) / 8)) bit=$((($1 - 1) % 8))
    [ -n "$hex" ] && (((0x${hex:$((index * 2)):2} >> bit) & 1))
}
serialcomm_lists() { # DEVICE COMn
    wine reg query 'HKLM\HARDWARE\DEVICEMAP\SERIALCOMM' 2>/dev/null | tr -d '\r' | grep -Eq "^ *\\\\Device\\\\$1 +REG_SZ +$2\$"
}
pair_line() { # PAIR END DEVICE COM STATE: lbkctl pair list shows that end so
    wine "$bin/lbkctl.exe" pair list | tr -d '\r' | grep -Eq "^$1 +$2 +$3 +$4 +$5 "
}
export -f comdb_claims serialcomm_lists pair_line

check "bus_install_makes_a_Root_LBKBUS_device" bash -c \
    'out=$(wine "$0" bus-install "$1") && grep -q "^installed Root.LBKBUS from " <<<"$out"' "$bin/lbkctl.exe" "$bus_inf"
# The PnP manager starts the bus's ends after the install returns: up to 10 s for them to be started.
ends_started() { # PAIR COMa COMb
    local i
    for i in $(seq 50); do
        pair_line "$1" A "LBKP$1A" "$2" started && pair_line "$1" B "LBKP$1B" "$3" started && return 0
        sleep 0.2
    done
    return 1
}
export -f ends_started
check "bus_inf_makes_pair_0_with_no_com_names" ends_started 0 - -
# The bus's own requests with short buffers, values out of range, an unknown pair or code.
suite 60 integration.exe --suite bus-requests --method buffered
check "pair_add_with_com_names" bash -c \
    'wine "$0" pair add --port-names COM11,COM12 | tr -d "\r" | grep -qx "added pair 1"' "$bin/lbkctl.exe"
check "pair_list_shows_the_ends_started_with_their_names" bash -c \
    'pair_line 1 A LBKP1A COM11 started && pair_line 1 B LBKP1B COM12 started'
suite 60 portfinder.exe expect COM11,COM12 bus
check "pair_ends_are_listed_in_serialcomm" bash -c 'serialcomm_lists LBKP1A COM11 && serialcomm_lists LBKP1B COM12'
check "pair_com_names_are_claimed_in_the_arbiter_database" bash -c 'comdb_claims 11 && comdb_claims 12 && ! comdb_claims 13'
# The whole serial suite on the INF's pair, by the ends' own names: they are serial ends as a
# legacy pair's are. (A port keeps its settings, and its input, from one program to the next, as
# serial.sys's do: each run of the suite needs ends it has not used.)
suite 300 serialtest.exe '\\.\LBKP0A' '\\.\LBKP0B' bus

# Names someone has are refused, with the owner named: another pair's, and another driver's
# (COM1 is the port Wine's mountmgr made for the host's /dev/ttyS0).
check "a_name_another_pair_has_is_refused_naming_it" bash -c \
    'out=$(wine "$0" pair add --port-names COM13,COM11 2>&1); [ $? -eq 2 ] && grep -q "COM11 is taken: it is .*LBKP1A" <<<"$out" &&
     ! comdb_claims 13' "$bin/lbkctl.exe"
check "a_name_another_driver_has_is_refused_naming_it" bash -c \
    'out=$(wine "$0" pair add --port-names COM1,COM13 2>&1); [ $? -eq 2 ] && grep -q "COM1 is taken: it is .*Serial0" <<<"$out"' \
    "$bin/lbkctl.exe"
check "a_bad_port_name_is_refused" bash -c \
    'out=$(wine "$0" pair add --port-names COM0,COM13 2>&1); [ $? -eq 1 ] && grep -q "port-names" <<<"$out"' "$bin/lbkctl.exe"
check "an_unknown_pair_is_refused" bash -c \
    'out=$(wine "$0" pair remove 9 2>&1); [ $? -eq 2 ] && grep -q "there is no pair 9" <<<"$out"' "$bin/lbkctl.exe"

# Pairs added and removed while pair 1 carries data: the serial suite runs on COM11/COM12 meanwhile.
(timeout 300 wine "$bin/serialtest.exe" COM11 COM12 bus-busy >"$BUILD/bus-busy.out" 2>&1; echo "$?" >"$BUILD/bus-busy.rc") &
busy=$!
bus_churn() {
    local round
    for round in 1 2 3; do
        wine "$1" pair add --port-names COM13,COM14 | tr -d '\r' | grep -qx "added pair 2" || return 1
        pair_line 2 A LBKP2A COM13 started || return 1
        wine "$1" pair remove 2 | tr -d '\r' | grep -qx "removed pair 2" || return 1
    done
}
check "pairs_are_added_and_removed_while_another_carries_data" bus_churn "$bin/lbkctl.exe"
wait "$busy"
tr -d '\r' <"$BUILD/bus-busy.out" | grep -v ' passed, '
[ "$(cat "$BUILD/bus-busy.rc" 2>/dev/null)" = 0 ] || echo "FAIL wine: serialtest bus-busy exited with $(cat "$BUILD/bus-busy.rc" 2>/dev/null)"
check "a_removed_pair_leaves_no_name_behind" bash -c \
    '! comdb_claims 13 && ! comdb_claims 14 && ! serialcomm_lists LBKP2A COM13 && ! wine "$0" --probe COM13' "$bin/serialtest.exe"
suite 60 portfinder.exe absent COM13 bus-removed

# Removed under a program that has a port open with a read waiting: the read ends (the device is
# removed), the program sees an error, and the bus goes on.
removed_under_a_waiting_read() {
    local reader rc
    wine "$1" pair add --port-names COM15,COM16 | tr -d '\r' | grep -qx "added pair 2" || return 1
    (wine "$1" read --device COM16 --bytes 100 --timeout 60000 >"$BUILD/bus-read.out" 2>&1; echo "$?" >"$BUILD/bus-read.rc") &
    reader=$!
    sleep 2
    wine "$1" pair remove 2 | tr -d '\r' | grep -qx "removed pair 2" || return 1
    timeout 30 tail --pid="$reader" -f /dev/null || { echo "the read still waits"; return 1; }
    rc=$(cat "$BUILD/bus-read.rc"); cat "$BUILD/bus-read.out"
    [ "$rc" = 2 ] && ! comdb_claims 16 && pair_line 1 A LBKP1A COM11 started
}
check "a_pair_removed_under_a_waiting_read_ends_the_read" removed_under_a_waiting_read "$bin/lbkctl.exe"

# Renamed while open: the end keeps its handle, the new name opens it, the old one is free.
rename_while_open() {
    wine "$1" pair rename 1 A COM21 | tr -d '\r' | grep -qx "pair 1 end A: COM21" &&
        pair_line 1 A LBKP1A COM21 started && serialcomm_lists LBKP1A COM21 && comdb_claims 21 && ! comdb_claims 11 &&
        ! wine "$2" --probe COM11
}
check "pair_rename_moves_the_com_name" rename_while_open "$bin/lbkctl.exe" "$bin/serialtest.exe"
suite 60 portfinder.exe expect COM21,COM12 bus-renamed
suite 60 portfinder.exe absent COM11 bus-renamed
check "pair_rename_to_a_taken_name_is_refused" bash -c \
    'out=$(wine "$0" pair rename 1 A COM12 2>&1); [ $? -eq 2 ] && grep -q "COM12 is taken: it is .*LBKP1B" <<<"$out"' \
    "$bin/lbkctl.exe"

# Options per end (setupc's "change"): a wiring and pacing given at add, listed, kept in the bus's
# device key, and changed at once while the end is open.
bus_values() { # the values under Enum (Wine keeps the bus's device key there), one "NAME TYPE DATA" per line
    wine reg query 'HKLM\System\CurrentControlSet\Enum' /s 2>/dev/null | tr -d '\r' | sed 's/^ *//'
}
export -f bus_values
check "pair_add_with_a_wiring_per_end" bash -c \
    'wine "$0" pair add --port-names COM17,COM18 --wiring "loopback;cts=on,ri=rts" | tr -d "\r" | grep -qx "added pair 2" &&
     wine "$0" pair list | tr -d "\r" | grep -Eq "^2 +A +LBKP2A +COM17 +started +0 +no +loopback\$" &&
     wine "$0" pair list | tr -d "\r" | grep -Eq "^2 +B +LBKP2B +COM18 +started +0 +no +cts=on,dsr=rdtr,dcd=rdtr,ri=rts\$"' \
    "$bin/lbkctl.exe"
check "pair_options_are_kept_in_the_bus_device_key" bash -c \
    'bus_values | grep -Eqx "Wiring2 +REG_SZ +loopback;cts=on,dsr=rdtr,dcd=rdtr,ri=rts" && ! bus_values | grep -q "^Paced2 "'
check "pair_options_make_both_ends_loopback_plugs" bash -c \
    'wine "$0" pair options 2 B --wiring loopback | tr -d "\r" | grep -qx "pair 2 end B: options set" &&
     bus_values | grep -Eqx "Wiring2 +REG_SZ +loopback;loopback"' "$bin/lbkctl.exe"
suite 120 serialtest.exe COM17 COM18 bus-loopback loopback
check "pair_options_set_pacing_and_the_null_modem_wiring" bash -c \
    'for e in A B; do wine "$0" pair options 2 $e --wiring null-modem --paced 1 >/dev/null || exit 1; done
     wine "$0" pair list | tr -d "\r" | grep -Eq "^2 +B +LBKP2B +COM18 +started +0 +yes +null-modem\$" &&
     ! bus_values | grep -q "^Wiring2 " && bus_values | grep -Eqx "Paced2 +REG_DWORD +0x3"' "$bin/lbkctl.exe"
suite 180 serialtest.exe COM17 COM18 bus-paced paced
# Rewired while open: COM17 holds a write by CTS flow (COM18 closed, so its CTS is low) until its
# CTS is wired to "on"; the change acts at once, with EV_CTS, as a line change does.
rewired_while_open() {
    local prober i
    wine "$1" pair options 2 A --paced 0 >/dev/null && wine "$1" pair options 2 B --paced 0 >/dev/null || return 1
    wine "$2" --rewired COM17 bus-rewired >"$BUILD/bus-rewired.out" 2>&1 &
    prober=$!
    for i in $(seq 100); do grep -q ready "$BUILD/bus-rewired.out" && break; sleep 0.1; done
    wine "$1" pair options 2 A --wiring cts=on | tr -d '\r' | grep -qx "pair 2 end A: options set" || return 1
    wait "$prober"; local rc=$?
    tr -d '\r' <"$BUILD/bus-rewired.out" | grep -v ' passed, '
    [ "$rc" = 0 ]
}
check "pair_options_rewire_an_open_end_at_once" rewired_while_open "$bin/lbkctl.exe" "$bin/serialtest.exe"
check "pair_options_refuses_bad_input" bash -c \
    'out=$(wine "$0" pair options 2 A --wiring cts=xx 2>&1); [ $? -eq 1 ] && grep -q "a wiring is" <<<"$out" &&
     out=$(wine "$0" pair options 2 A --paced 2 2>&1); [ $? -eq 1 ] && grep -q "paced is 0 or 1" <<<"$out" &&
     out=$(wine "$0" pair options 2 C 2>&1); [ $? -eq 1 ] && grep -q "end is A or B" <<<"$out" &&
     out=$(wine "$0" pair options 9 A 2>&1); [ $? -eq 2 ] && grep -q "there is no pair 9" <<<"$out" &&
     out=$(wine "$0" pair add --wiring "loopback;loopback;loopback" 2>&1); [ $? -eq 1 ] && grep -q "a wiring is" <<<"$out" &&
     wine "$0" pair list | tr -d "\r" | grep -Eq "^2 +A +LBKP2A +COM17 +started +0 +no +cts=on,dsr=rdtr,dcd=rdtr,ri=off\$"' \
    "$bin/lbkctl.exe"
check "a_removed_pair_leaves_no_options_behind" bash -c \
    'wine "$0" pair remove 2 >/dev/null && ! bus_values | grep -Eq "^(Pair|Wiring|Paced)2 "' "$bin/lbkctl.exe"

# Removed: every trace of its names goes, and the names can be used again at once.
check "pair_remove" bash -c 'wine "$0" pair remove 1 | tr -d "\r" | grep -qx "removed pair 1"' "$bin/lbkctl.exe"
check "a_removed_pairs_names_are_released" bash -c \
    '! comdb_claims 21 && ! comdb_claims 12 && ! serialcomm_lists LBKP1A COM21 && ! wine "$0" --probe COM12' \
    "$bin/serialtest.exe"
suite 60 portfinder.exe absent COM21 bus-after-remove
check "released_names_are_reusable" bash -c \
    'wine "$0" pair add --port-names COM21,COM12 | tr -d "\r" | grep -qx "added pair 1"' "$bin/lbkctl.exe"
suite 60 portfinder.exe expect COM21,COM12 bus-reused

# The bus goes, with its pairs and their device nodes; the service, left with no node, unloads.
check "bus_remove" bash -c 'wine "$0" bus-remove | tr -d "\r" | grep -qx "removed 1 Root.LBKBUS device"' "$bin/lbkctl.exe"
check "the_bus_pairs_names_are_released" bash -c '! comdb_claims 21 && ! comdb_claims 12 && ! wine "$0" --probe COM21' \
    "$bin/serialtest.exe"
suite 60 portfinder.exe absent COM12 bus-gone
lbkctl stop >/dev/null 2>&1
unloads=$((unloads + 1))
check "pool_released_after_the_bus" unloads_clean "$unloads"
lbkctl uninstall >/dev/null 2>&1

# The PnP requests Wine never sends to a bus's end (the stops, the queries, their cancels, one it
# does not handle, power), sent by pnpprobe.sys to LBKP0A, as for pnp-states: the bus's service
# in the probe's load order group, so that Wine runs both in one winedevice process.
sed -i 's/^ServiceBinary .*/&\nLoadOrderGroup = LbkPnpTest/' "$bus_dir/lbk.inf"
# Pairs the INF gives with options: pair 3's kept, pair 4's not what the bus writes (ignored);
# pair 5 is not a pair (logged by its name alone: the value's data follows it unterminated).
sed -i 's/^HKR,,Pair0,.*/&\nHKR,,Pair3,0x00000002,"-,-"\nHKR,,Wiring3,0x00000002,"ri=on;loopback"\nHKR,,Paced3,0x00010001,1\nHKR,,Pair4,0x00000002,"-,-"\nHKR,,Wiring4,0x00000002,"cts=bogus"\nHKR,,Paced4,0x00010001,8\nHKR,,Pair5,0x00000002,"COM1,bogus"/' \
    "$bus_dir/lbk.inf"
wine sc create LBKPROBE type= kernel start= demand group= LbkPnpTest binPath= "$(win_path "$BUILD/tests/pnpprobe.sys")" >/dev/null
check "port_probe_driver_starts" bash -c 'wine sc start LBKPROBE | tr -d "\r" | grep -q "RUNNING"'
check "bus_install_beside_the_probe" bash -c 'wine "$0" bus-install "$1" >/dev/null && ends_started 0 - -' \
    "$bin/lbkctl.exe" "$bus_inf"
check "pair_options_in_the_device_key_are_applied_at_start" bash -c \
    'ends_started 3 - - && ends_started 4 - - && out=$(wine "$0" pair list | tr -d "\r") &&
     grep -Eq "^3 +A +LBKP3A +- +started +0 +yes +cts=rrts,dsr=rdtr,dcd=rdtr,ri=on\$" <<<"$out" &&
     grep -Eq "^3 +B +LBKP3B +- +started +0 +no +loopback\$" <<<"$out" &&
     grep -Eq "^4 +A +LBKP4A +- +started +0 +no +null-modem\$" <<<"$out" &&
     grep -Eq "^4 +B +LBKP4B +- +started +0 +no +null-modem\$" <<<"$out" &&
     grep -q "Wiring4 is not two wirings" "$1" && grep -q "Paced4 is not a DWORD" "$1"' "$bin/lbkctl.exe" "$LBK_DRIVER_LOG"
check "a_bad_pair_value_in_the_device_key_is_logged_by_its_name" bash -c \
    '! wine "$0" pair list | tr -d "\r" | grep -Eq "^5 " && grep -q "bus: Pair5 is not \"COM<n>,COM<m>\"" "$1"' \
    "$bin/lbkctl.exe" "$LBK_DRIVER_LOG"
suite 300 integration.exe --suite port-states --device LBKP0A --method buffered
# Last: the probe surprise-removes the bus, which then takes no change until its REMOVE.
suite 60 integration.exe --suite bus-surprise --method buffered
lbkctl bus-remove >/dev/null
lbkctl stop >/dev/null 2>&1
unloads=$((unloads + 1))
check "pool_released_after_port_states" unloads_clean "$unloads"
wine sc stop LBKPROBE >/dev/null 2>&1
wine sc delete LBKPROBE >/dev/null 2>&1
lbkctl uninstall >/dev/null 2>&1
