#!/usr/bin/env bash
# The Raspberry Pi's binary (the aarch64 release build) run under qemu-aarch64-static
# through the real path of an election (issue 19): a signed list generated and
# imported, election packages loaded onto enrolled tables, two table daemons syncing
# over mutual TLS (a voter confirmed at one is refused at the other), a replacement
# card printed to a file and read back by zbarimg, the paper list printed. These are
# the existing integration tests, with VALGBORD_TEST_BIN naming tests/package/
# qemu-valgbord, so every binary they start is the emulated one; the wrapper's log is
# checked afterwards, so a test that silently ran the native build would fail here.
# Then `bench scan` under emulation, in process and over HTTP: an upper bound for a Pi
# (qemu is slower than a Pi 4). Run by .ci/run after the aarch64 build.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/aarch64-unknown-linux-gnu/release/valgbord
[ -f "$bin" ] || { echo "aarch64.sh: no $bin (cargo build --release --target aarch64-unknown-linux-gnu)" >&2; exit 1; }
command -v qemu-aarch64-static >/dev/null ||
    { echo "aarch64.sh: qemu-aarch64-static missing (apt-get install qemu-user-static)" >&2; exit 1; }
case "$(file -b "$bin")" in
    *"ARM aarch64"*) ;;
    *) echo "aarch64.sh: $bin is not an aarch64 binary: $(file -b "$bin")" >&2; exit 1 ;;
esac
[ "$(uname -m)" != aarch64 ] || echo "note: this machine is aarch64 itself; qemu adds nothing"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export VALGBORD_TEST_BIN="$PWD/tests/package/qemu-valgbord" VALGBORD_QEMU_LOG="$log"
echo "== emulated: $("$VALGBORD_TEST_BIN" --version)"

# The smoke test: each a test of the native suite, here with the emulated binary.
cargo test --locked --test voter_import --test provisioning --test sync_tls --test printing -- \
    a_signed_list_imports_with_signature_verified \
    a_generated_list_of_2000_voters_imports_and_a_card_is_found \
    two_places_of_three_tables_are_provisioned_checked_opened_and_guarded \
    election_tables_sync_over_tls_and_a_check_in_is_refused_elsewhere_within_a_second \
    a_check_in_without_a_card_prints_a_replacement_card_at_the_confirming_table \
    card_pdf_decodes_to_the_new_code_and_a_signed_qr_and_the_old_card_is_superseded \
    blank_list_marks_no_one_as_checked_in

# The mark: the emulated binary was started for every step of the path.
for want in "voters import" "election load" "table --config" "list print" "card print"; do
    n="$(grep -c -- "$want" "$log" || true)"
    if [ "$n" -eq 0 ]; then
        echo "error: no emulated 'valgbord $want' was started: the tests did not use VALGBORD_TEST_BIN" >&2
        exit 1
    fi
    echo "emulated 'valgbord $want': $n run(s)"
done
echo "emulated binary started $(wc -l <"$log") times"

echo "== bench scan under emulation (an upper bound for a Raspberry Pi)"
# In process (scan -> verdict, confirm -> stored), then over HTTP on a table daemon the
# bench starts as a process of its own: VALGBORD_SELF makes that copy run emulated too
# (qemu's user mode cannot start an aarch64 file by itself without binfmt_misc).
before="$(grep -c -- "table --config" "$log" || true)"
said="$(VALGBORD_SELF="$VALGBORD_TEST_BIN" "$VALGBORD_TEST_BIN" bench scan 2>&1)" ||
    { echo "$said"; echo "error: bench scan under emulation failed" >&2; exit 1; }
echo "$said"
for want in "in this process" "over HTTP, a table daemon process"; do
    grep -q -- "$want" <<<"$said" ||
        { echo "error: bench scan under emulation printed no '$want' figures" >&2; exit 1; }
done
[ "$(grep -c -- "table --config" "$log" || true)" -gt "$before" ] ||
    { echo "error: bench scan's table daemon did not run emulated" >&2; exit 1; }
