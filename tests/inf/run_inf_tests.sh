#!/usr/bin/env bash
# Checks windows/inf/lbk.inf and lbkport.inf with tools/inf_check, then checks that inf_check
# finds each kind of defect in a copy of one with that one defect. One PASS/FAIL line each.
# Usage: run_inf_tests.sh BUILD_DIR INF_CHECK
set -uo pipefail
out=$1/inf-tests
check=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

for file in lbk lbkport; do
    if "$check" "$here/../../windows/inf/$file.inf" >"$out/$file.log" 2>&1; then
        echo "PASS inf: $file.inf passes every check"
    else
        echo "FAIL inf: $file.inf has problems"; sed 's/^/  /' "$out/$file.log"
    fi
done

# Each case: name | sed expression that makes the defect | what inf_check must say
defects() { # INF, then the cases on stdin
    local inf=$1
while IFS='|' read -r name edit expect; do
    [ -n "$name" ] || continue
    sed -e "$edit" "$inf" >"$out/$name.inf"
    if cmp -s "$inf" "$out/$name.inf"; then
        echo "FAIL inf: $name: the edit changed nothing"; continue
    fi
    if "$check" "$out/$name.inf" >"$out/$name.log" 2>&1; then
        echo "FAIL inf: $name: not found"
    elif grep -F -- "$expect" "$out/$name.log" >/dev/null; then
        echo "PASS inf: finds $name"
    else
        echo "FAIL inf: $name: the message does not say \"$expect\""; sed 's/^/  /' "$out/$name.log"
    fi
done
}
defects "$here/../../windows/inf/lbk.inf" <<'CASES'
wrong_class_guid|s/^ClassGuid .*/ClassGuid = {00000000-0000-0000-0000-000000000000}/|ClassGuid must be
bad_signature|s/\$Windows NT\$/$Chicago$/|Signature must be
bad_driver_ver|s/^DriverVer .*/DriverVer = 2026-12-02,1.0/|DriverVer must be
no_x64_models|s/LbkModels, NTamd64, NTarm64/LbkModels, NTarm64/|must decorate its models NTamd64
no_arm64_models|s/LbkModels, NTamd64, NTarm64/LbkModels, NTamd64/|and NTarm64 (ARM64)
no_arm64_models_section|s/^\[LbkModels.NTarm64\]/[LbkOtherModels.NTarm64]/|[LbkModels.NTarm64] does not exist
arm64_without_the_bus|/^\[LbkModels.NTarm64\]/,/^$/{/LBKBUS/d}|[LbkModels.NTarm64] must list the same models as [LbkModels.NTamd64]
arm64_other_install|/^\[LbkModels.NTarm64\]/,/^$/s/= LbkInstall,/= LbkBusInstall,/|must list the same models
no_root_hardware_id|s/Root\\LBK/Root\\OTHER/|hardware id Root\LBK
undefined_string|s/%DiskName%/%NoSuchString%/|%NoSuchString% is not defined
file_not_on_a_disk|s/^lbk.sys = /other.sys = /|lbk.sys is not in [SourceDisksFiles.arm64]
x64_file_not_on_a_disk|s/^lbk.sys = 1,amd64$/other.sys = 1,amd64/|lbk.sys is not in [SourceDisksFiles.amd64]
arm64_image_from_the_x64_folder|s/^lbk.sys = 1,arm64$/lbk.sys = 1,amd64/|lbk.sys for arm64 must come from the package's arm64 folder
x64_image_from_the_package_root|s/^lbk.sys = 1,amd64$/lbk.sys = 1/|lbk.sys for amd64 must come from the package's amd64 folder
arm64_falls_back_to_the_x64_image|/^\[SourceDisksFiles.arm64\]/,/^$/d|lbk.sys for arm64 must come from the package's arm64 folder
file_on_no_disk|s/^lbk.sys = 1,amd64$/lbk.sys = 2,amd64/|disk 2 is not in [SourceDisksNames]
missing_section|s/^CopyFiles = LbkCopyFiles/CopyFiles = LbkNoSuchFiles/|names [LbkNoSuchFiles], which does not exist
not_the_function_driver|s/^AddService = LBK, 0x00000002,/AddService = LBK, 0x00000000,/|flag it 0x00000002
boot_start|s/^StartType .*/StartType = 0/|StartType must be 3
binary_outside_the_store|s/^ServiceBinary .*/ServiceBinary = %12%\\lbk.sys/|ServiceBinary must be
buffer_size_zero|s/BufferSize,0x00010001,65536/BufferSize,0x00010001,0/|Parameters\BufferSize = 0
unknown_io_method|s/"buffered"/"fast"/|Parameters\IoMethod = fast
unknown_parameter|s/HKR,Parameters,TraceLevel/HKR,Parameters,TraceLevl/|TraceLevl is no value the driver reads
dword_as_string|s/MessageMode,0x00010001,0/MessageMode,0x00000000,"0"/|Parameters\MessageMode = 0
bad_parameters_security|s/^HKR,Parameters,Security,0x00000000,.*/HKR,Parameters,Security,0x00000000,"D:(A;;GA;;;XX)"/|Parameters\Security
bad_device_security|s/^HKR,,Security,,.*/HKR,,Security,,"D:P(X;;GA;;;SY)"/|Security "D:P(X;;GA;;;SY)"
no_device_security|/^HKR,,Security,,/d|sets no HKR,,Security
node_security_differs|s/^HKR,,Security,,.*/HKR,,Security,,"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GR;;;BU)"/|opens by interface and by name would differ
parameters_security_differs|s/^HKR,Parameters,Security,0x00000000,.*/HKR,Parameters,Security,0x00000000,"D:P(A;;GA;;;SY)"/|opens by interface and by name would differ
duplicate_section|s/^\[LbkCopyFiles\]/[Strings]/|appears twice
legacy_service|/^HKR,Parameters,PlugAndPlay,/d|must set PlugAndPlay to 1
pairs_on_a_node|s/^HKR,Parameters,MessageMode,0x00010001,0/HKR,Parameters,Pairs,0x00010001,1/|each device node is one loopback device
no_bus_model|/= LbkBusInstall, Root\\LBKBUS/d|hardware id Root\LBKBUS
bus_pair_three_com_names|s/^HKR,,Pair0,0x00000002,.*/HKR,,Pair0,0x00000002,"COM5,COM6,COM7"/|is not two COM names
bus_pair_name_twice|s/^HKR,,Pair0,0x00000002,.*/HKR,,Pair0,0x00000002,"COM5,COM5"/|is not two COM names
bus_pair_number_too_high|s/^HKR,,Pair0,/HKR,,Pair32,/|is no value of the bus's device key
bus_pair_as_a_dword|s/^HKR,,Pair0,0x00000002,.*/HKR,,Pair0,0x00010001,1/|must be REG_SZ
bus_another_service|/^\[LbkBusInstall.NT.Services\]/,/^AddService/s/^AddService = LBK,/AddService = OTHER,/|the bus's AddService must be the device's
CASES
defects "$here/../../windows/inf/lbkport.inf" <<'CASES'
port_without_arm64_models|s/LbkPortModels, NTamd64, NTarm64/LbkPortModels, NTamd64/|and NTarm64 (ARM64)
port_arm64_models_differ|/^\[LbkPortModels.NTarm64\]/,/^$/s/LBK\\SerialPort/LBK\\OtherPort/|[LbkPortModels.NTarm64] must list the same models
port_not_in_the_ports_class|s/^ClassGuid .*/ClassGuid = {a6dca497-3d01-4241-b405-1568ba72dbc1}/|ClassGuid must be {4d36e978
port_without_its_hardware_id|s/LBK\\SerialPort/LBK\\Other/|hardware id LBK\SerialPort
port_with_a_function_driver|s/^AddService = , 0x00000002/AddService = LBK, 0x00000002, LbkPortInstall.NT/|must install no function driver
port_without_security|/^HKR,,Security,,/d|sets no HKR,,Security
port_with_an_unknown_value|s/^HKR,,Security,,.*/&\nHKR,,PortName,,"COM5"/|PortName is no value of the device key
CASES
